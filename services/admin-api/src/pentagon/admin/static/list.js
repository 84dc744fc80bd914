// The conversation list: what is loaded, how it is ordered (needs-human first, then the
// latest activity), unread counts since each conversation was last opened, and rendering.

import { el, formatShort, parseTime } from './dom.js';
import { labelTags } from './labels.js';

const UNREAD_KEY = 'pentagon.admin.unread';

// The customer's name when their platform told us (metadata.user_name: Messenger's profile, the
// name typed in the web chat), else their platform id. Always set as text, never as HTML.
export function customerLabel(c) {
  const name = typeof c.metadata?.user_name === 'string' ? c.metadata.user_name.trim() : '';
  return `#${c.id} · ${name || c.user_id}`;
}

/** Waiting for a human: an open conversation with a flagged user message nobody answered yet. */
export function needsHuman(c) {
  return Boolean(c) && c.status !== 'closed' && (c.pending_human_count || 0) > 0;
}

// From this long on a waiting customer's tag turns red: someone should pick it up now.
export const LATE_AFTER_MIN = 10;

/** Whole minutes since an ISO time; null without one. */
export function minutesSince(value, now = Date.now()) {
  const since = parseTime(value);
  return since ? Math.max(0, Math.floor((now - since.getTime()) / 60_000)) : null;
}

/** Whole minutes since the oldest unanswered request for a person; null when nobody waits. */
export function waitingMinutes(c, now = Date.now()) {
  return needsHuman(c) ? minutesSince(c.waiting_since, now) : null;
}

/** '< 1 min', '12 min', '1 h 5 min', '3 d'. */
export function durationLabel(minutes) {
  if (minutes < 1) return '< 1 min';
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${Math.floor(minutes / (24 * 60))} d`;
}

export function waitingLabel(minutes) {
  return `waiting ${durationLabel(minutes)}`;
}

function waitingTag(c) {
  const minutes = waitingMinutes(c);
  if (minutes === null) return null;
  return el('span', { class: `waiting${minutes >= LATE_AFTER_MIN ? ' late' : ''}`, dataset: { since: c.waiting_since },
    title: 'Since the customer asked for a person', text: waitingLabel(minutes) });
}

/** Moves every shown "waiting" tag on, without rebuilding the list (the app calls it every 30 s). */
export function refreshWaiting(root = document, now = Date.now()) {
  for (const tag of root.querySelectorAll('.conv-item .waiting[data-since]')) {
    const minutes = minutesSince(tag.dataset.since, now);
    if (minutes === null) continue;
    tag.textContent = waitingLabel(minutes);
    tag.classList.toggle('late', minutes >= LATE_AFTER_MIN);
  }
}

function compare(a, b) {
  const na = needsHuman(a) ? 1 : 0;
  const nb = needsHuman(b) ? 1 : 0;
  if (na !== nb) return nb - na;
  const ta = Date.parse(a.last_message_at || a.updated_at || '') || 0;
  const tb = Date.parse(b.last_message_at || b.updated_at || '') || 0;
  if (ta !== tb) return tb - ta;
  return (b.id || 0) - (a.id || 0);
}

/** Does a conversation belong in the list under the current filters? (q is the server's job.) */
export function matches(c, filters, me) {
  if (filters.status === 'all') {
    // every status
  } else if (filters.status) {
    if (c.status !== filters.status) return false;
  } else if (c.status === 'closed') {
    return false;
  }
  if (filters.platform && c.platform !== filters.platform) return false;
  if (filters.needs_human === 'true' && !needsHuman(c)) return false;
  if (filters.needs_human === 'false' && needsHuman(c)) return false;
  if (filters.assigned_to) {
    const who = filters.assigned_to === '__me__' ? me : filters.assigned_to;
    if (c.assigned_to !== who) return false;
  }
  if (filters.label && !(c.labels || []).includes(filters.label)) return false;
  if (filters.max_rating && !(Number(c.metadata?.rating?.score) <= Number(filters.max_rating))) return false;
  return true;
}

export class ConversationList {
  constructor(root, onOpen) {
    this.root = root;
    this.onOpen = onOpen;
    this.items = new Map();
    this.liveSeq = new Map(); // id -> seq of the latest live frame that carried the conversation
    this.selectedId = null;
    this.unread = this.loadUnread();
    this.presenceOf = () => ''; // "✎ bob": set by the app from presence.js
  }

  loadUnread() {
    try {
      return new Map(Object.entries(JSON.parse(sessionStorage.getItem(UNREAD_KEY) || '{}')).map(([k, v]) => [Number(k), v]));
    } catch {
      return new Map();
    }
  }

  saveUnread() {
    sessionStorage.setItem(UNREAD_KEY, JSON.stringify(Object.fromEntries(this.unread)));
  }

  clearAll() {
    this.items.clear();
    this.liveSeq.clear();
    this.render();
  }

  /** A live frame (feed sequence `seq`) carried this conversation's state. */
  heardLive(id, seq) {
    if (typeof seq === 'number') this.liveSeq.set(Number(id), Math.max(seq, this.liveSeq.get(Number(id)) || 0));
  }

  /**
   * Was the conversation carried by a live frame after feed sequence `seq`? Then a REST answer to a
   * request made at `seq` must not replace it: frames come in commit order, one per change, so the
   * latest frame is never wrong for long, while a snapshot read as frames were in flight can predate
   * the last of them and would stay wrong (a needs-human flag gone) until the next change.
   */
  liveSince(id, seq) {
    return (this.liveSeq.get(Number(id)) || 0) > seq;
  }

  /** A REST answer read at feed sequence `seq`: merged unless a live frame since is newer. */
  upsertSnapshot(conversation, seq) {
    const prev = this.items.get(Number(conversation.id));
    if (prev && this.liveSince(conversation.id, seq)) {
      if (!prev.last_message && conversation.last_message) prev.last_message = conversation.last_message;
      return { prev, next: prev };
    }
    return this.upsert(conversation);
  }

  get(id) {
    return this.items.get(Number(id));
  }

  upsert(conversation) {
    const id = Number(conversation.id);
    const prev = this.items.get(id);
    const merged = prev ? { ...prev, ...conversation } : { ...conversation };
    if (prev && !conversation.last_message && prev.last_message) merged.last_message = prev.last_message;
    this.items.set(id, merged);
    return { prev, next: merged };
  }

  remove(id) {
    this.items.delete(Number(id));
    this.unread.delete(Number(id));
    this.saveUnread();
  }

  /** A new message for a conversation: preview, activity time and unread count. */
  noteMessage(message) {
    const id = Number(message.conversation_id);
    const conv = this.items.get(id);
    if (conv) {
      conv.last_message = { content: message.content, sender_type: message.sender_type, timestamp: message.timestamp };
      const ts = message.timestamp || message.created_at;
      if (ts && (!conv.last_message_at || Date.parse(ts) > Date.parse(conv.last_message_at))) conv.last_message_at = ts;
    }
    if (message.sender_type === 'user' && id !== this.selectedId) {
      this.unread.set(id, (this.unread.get(id) || 0) + 1);
      this.saveUnread();
    }
    return conv;
  }

  select(id) {
    this.selectedId = id === null ? null : Number(id);
    if (this.selectedId !== null) {
      this.unread.delete(this.selectedId);
      this.saveUnread();
    }
    this.render();
  }

  render() {
    const sorted = Array.from(this.items.values()).sort(compare);
    const nodes = sorted.map((c) => this.renderItem(c));
    this.root.replaceChildren(...nodes);
    if (!nodes.length) this.root.append(el('li', { class: 'muted empty', text: 'No conversations match.' }));
  }

  renderItem(c) {
    const unread = this.unread.get(Number(c.id)) || 0;
    const last = c.last_message || {};
    const preview = last.content ? `${last.sender_type ? `${last.sender_type}: ` : ''}${last.content}` : '';
    const here = this.presenceOf(Number(c.id));
    const classes = ['conv-item'];
    if (needsHuman(c)) classes.push('needs-human');
    if (Number(c.id) === this.selectedId) classes.push('selected');
    if (unread) classes.push('unread');
    const li = el('li', {
      class: classes.join(' '),
      tabindex: '0',
      role: 'button',
      dataset: { id: c.id, status: c.status, user: c.user_id },
      onclick: () => this.onOpen(c.id),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.onOpen(c.id); } },
    },
    el('div', { class: 'conv-line' },
      el('span', { class: `platform ${c.platform}`, text: c.platform === 'messenger' ? 'FB' : 'Web' }),
      el('span', { class: 'conv-user', dir: 'auto', title: `${c.platform} id ${c.user_id}`, text: customerLabel(c) }),
      el('span', { class: 'conv-time', text: formatShort(c.last_message_at || c.updated_at) })),
    el('div', { class: 'conv-line' },
      el('span', { class: 'conv-preview', dir: 'auto', text: preview }),
      unread ? el('span', { class: 'unread-count', title: 'Unread messages', text: String(unread) }) : null),
    el('div', { class: 'conv-line tags' },
      el('span', { class: `status ${c.status}`, text: c.status }),
      needsHuman(c) ? el('span', { class: 'flag needs', text: 'Needs human' }) : null,
      waitingTag(c),
      c.priority && c.priority !== 3 ? el('span', { class: `prio p${c.priority}`, text: `P${c.priority}` }) : null,
      c.assigned_to ? el('span', { class: 'assignee', text: `→ ${c.assigned_to}` }) : null,
      labelTags(c),
      here ? el('span', { class: 'presence-tag', title: 'Other staff on this conversation now', text: here }) : null));
    return li;
  }
}
