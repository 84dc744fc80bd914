// The message thread of one conversation. Every piece of message data is set with
// textContent or a vetted attribute: a message can never become markup or script.

import { el, formatFull, isHttpUrl } from './dom.js';

const SENDER_LABEL = { user: 'Customer', bot: 'Bot', human: 'Staff', system: 'System' };
const TICKS = {
  pending: ['…', 'Sending'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
  failed: ['!', 'Not delivered'],
};

function metadataOf(message) {
  const meta = message.metadata;
  return meta && typeof meta === 'object' && !Array.isArray(meta) ? meta : {};
}

/** Messenger sends {type, payload: {url}}; we also accept {type, url}. */
function attachmentsOf(meta) {
  const list = Array.isArray(meta.attachments) ? meta.attachments : [];
  return list
    .filter((a) => a && typeof a === 'object')
    .map((a) => ({
      type: String(a.type || 'file'),
      url: (a.payload && typeof a.payload === 'object' && a.payload.url) || a.url || '',
      name: a.name || a.title || (a.payload && a.payload.title) || '',
    }));
}

function renderAttachment(att) {
  const safe = isHttpUrl(att.url);
  if (att.type === 'image' && safe) {
    const link = el('a', { href: att.url, target: '_blank', rel: 'noopener noreferrer', class: 'att-image' });
    link.append(el('img', { src: att.url, alt: att.name || 'Image from the customer', loading: 'lazy', referrerpolicy: 'no-referrer' }));
    return link;
  }
  const label = `${att.name || att.type} attachment`;
  if (!safe) return el('span', { class: 'att-file muted', text: `${label} (no link)` });
  return el('a', { href: att.url, target: '_blank', rel: 'noopener noreferrer', class: 'att-file', text: label });
}

function renderSources(meta) {
  const sources = Array.isArray(meta.sources) ? meta.sources : [];
  if (!sources.length) return null;
  const list = el('ul', { class: 'sources' });
  for (const src of sources.slice(0, 8)) {
    const id = typeof src === 'object' && src ? src.id || src.kind || '?' : String(src);
    const score = typeof src === 'object' && src && typeof src.score === 'number' ? ` (${src.score.toFixed(2)})` : '';
    list.append(el('li', { text: `${id}${score}` }));
  }
  return el('details', { class: 'sources-box' }, el('summary', { text: `Sources (${sources.length})` }), list);
}

export function confidenceBadge(score) {
  if (typeof score !== 'number') return null;
  const level = score >= 0.75 ? 'high' : score >= 0.5 ? 'mid' : 'low';
  return el('span', { class: `confidence ${level}`, title: 'Bot confidence', text: `${Math.round(score * 100)}%` });
}

function tick(message) {
  if (message.sender_type === 'user') return null;
  const state = message._pending ? 'pending' : message.delivery_status;
  if (!state || !TICKS[state]) return null;
  const [mark, label] = TICKS[state];
  const title = state === 'failed' && message.delivery_error ? `${label}: ${message.delivery_error}` : label;
  return el('span', { class: `tick ${state}`, title, 'aria-label': title, text: mark });
}

function flags(message) {
  const out = [];
  if (message.requires_human && !message.human_replied) {
    out.push(el('span', { class: 'flag needs', text: 'Needs human' }));
  } else if (message.requires_human) {
    out.push(el('span', { class: 'flag replied', text: 'Replied' }));
  }
  if (message.escalation_reason) out.push(el('span', { class: 'flag reason', text: message.escalation_reason }));
  if (message.channel === 'standby') out.push(el('span', { class: 'flag', text: 'standby' }));
  return out;
}

function messageActions(message, canAct, onAction) {
  if (!canAct || message.sender_type !== 'user' || message._pending) return null;
  const box = el('span', { class: 'msg-actions' });
  if (!message.requires_human || message.human_replied) {
    box.append(el('button', { type: 'button', class: 'link', text: 'Mark needs human', dataset: { action: 'mark-human' }, onclick: () => onAction('mark-human', message) }));
  }
  if (message.requires_human && !message.human_replied) {
    box.append(el('button', { type: 'button', class: 'link', text: 'Mark replied', dataset: { action: 'mark-replied' }, onclick: () => onAction('mark-replied', message) }));
  }
  return box;
}

export function renderMessage(message, { canAct, onAction }) {
  const sender = SENDER_LABEL[message.sender_type] ? message.sender_type : 'system';
  const meta = metadataOf(message);
  const who = sender === 'human' && message.actor ? `${SENDER_LABEL.human} · ${message.actor}` : SENDER_LABEL[sender];
  const head = el('div', { class: 'msg-head' },
    el('span', { class: 'who', text: who }),
    el('time', { datetime: message.timestamp || '', title: message.timestamp || '', text: formatFull(message.timestamp) }),
    confidenceBadge(message.confidence_score),
    tick(message));
  const body = el('div', { class: 'msg-body', dir: 'auto' });
  body.textContent = message.content || '';
  const atts = attachmentsOf(meta).map(renderAttachment);
  return el('article', {
    class: `msg ${sender}${message.requires_human && !message.human_replied ? ' needs-human' : ''}`,
    dataset: { id: message.id ?? '', eventId: message.event_id ?? '' },
  }, head, body, atts.length ? el('div', { class: 'attachments' }, atts) : null,
  el('div', { class: 'msg-foot' }, flags(message), renderSources(meta), messageActions(message, canAct, onAction)));
}

/** "alice:admin" -> "alice": the audit log attributes actions as name:role. */
function actorName(actor) {
  const text = String(actor || 'Someone');
  const cut = text.lastIndexOf(':');
  return cut > 0 ? text.slice(0, cut) : text;
}

const ACTIVITY = {
  takeover: (who) => `${who} took over from the bot`,
  handback: (who) => `${who} handed back to the bot`,
  close: (who, entry) => (entry.params?.idle_since ? 'Closed automatically: no messages for a while'
    : `${who} closed the conversation`),
  reopen: (who) => `${who} reopened the conversation`,
  priority: (who, entry) => `${who} set priority ${entry.after?.priority ?? entry.params?.priority ?? ''}`.trim(),
  assign: (who, entry) => (entry.after?.assigned_to ? `${who} assigned it to ${entry.after.assigned_to}` : `${who} unassigned it`),
  mark_human: (who) => `${who} marked a message as needing a human`,
  mark_replied: (who) => `${who} marked a message as replied`,
  labels: (who, entry) => `${who} changed the labels: ${labelChange(entry.params)}`,
  note: (who, entry) => `${who} (note for the staff): ${entry.params?.text ?? ''}`,
  block_user: (who) => `${who} blocked the customer`,
  unblock_user: (who) => `${who} unblocked the customer`,
};

function labelChange(params) {
  const list = (v) => (Array.isArray(v) ? v.map(String) : []);
  return [...list(params?.add).map((l) => `+${l}`), ...list(params?.remove).map((l) => `−${l}`)].join(' ');
}

/** One line of the conversation's history from the audit log: who did what, when (text only). */
export function renderActivity(entry) {
  const who = actorName(entry.actor);
  const describe = ACTIVITY[entry.action] || ((name) => `${name}: ${String(entry.action)}`);
  return el('div', { class: 'activity', dataset: { action: String(entry.action), id: entry.id ?? '' } },
    el('span', { text: describe(who, entry) }),
    el('time', { datetime: entry.created_at || '', title: entry.created_at || '', text: formatFull(entry.created_at) }));
}

const timeOf = (item) => Date.parse(item.timestamp || item.created_at || '') || 0;

/** Holds the open conversation's messages keyed by event_id so live frames update in place,
 *  and its staff activity (takeovers, assignments, closes) shown between them in time order. */
export class Thread {
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.messages = new Map();
    this.activity = [];
    this.latePatches = null; // delivery patches for messages not loaded yet, while loading
  }

  /** Another conversation is opening: what live frames bring until load() is newer than its answer. */
  begin() {
    this.messages.clear();
    this.activity = [];
    this.latePatches = [];
  }

  /** The conversation's messages read over REST, under what frames brought while it was read. */
  load(messages) {
    const live = this.messages;
    this.messages = new Map(messages.map((m) => [this.key(m), m]));
    for (const [key, m] of live) this.messages.set(key, { ...this.messages.get(key), ...m });
    const patches = this.latePatches || [];
    this.latePatches = null;
    for (const patch of patches) this.updateById(patch);
    this.render(true);
  }

  setActivity(entries) {
    this.activity = entries.filter((e) => e && typeof e === 'object' && e.created_at);
    this.render(false);
  }

  key(m) {
    return m.event_id || `id:${m.id}`;
  }

  upsert(message) {
    const key = this.key(message);
    const prev = this.messages.get(key);
    this.messages.set(key, prev ? { ...prev, ...message, _pending: false } : message);
    this.render(false);
  }

  /** A delivery frame carries the message row (or only its id and delivery fields). */
  updateById(patch) {
    for (const [key, m] of this.messages) {
      if ((patch.id && m.id === patch.id) || (patch.event_id && m.event_id === patch.event_id)) {
        this.messages.set(key, { ...m, ...patch });
        this.render(false);
        return;
      }
    }
    // Its message not read yet (the conversation is loading): applied over the answer in load().
    if (this.latePatches) this.latePatches.push(patch);
  }

  /** The newest message of the customer with words in it (the question a draft answers, or ''),
   *  and the turns before it (at most 6, oldest first) for a follow-up such as "how much?". */
  lastQuestion() {
    const turns = this.sorted().filter((m) => ['user', 'bot', 'human'].includes(m.sender_type)
      && String(m.content || '').trim());
    const last = turns.map((m) => m.sender_type).lastIndexOf('user');
    if (last < 0) return { text: '', history: [] };
    // As the API takes them: no NUL (a customer's text may carry one), at most 2,000 characters.
    const clean = (m) => String(m.content).replace(/\u0000/g, '').slice(0, 2000);
    const history = turns.slice(Math.max(0, last - 6), last).map((m) => ({ role: m.sender_type, text: clean(m) }));
    return { text: clean(turns[last]), history };
  }

  sorted() {
    return Array.from(this.messages.values()).sort((a, b) => {
      const ta = timeOf(a);
      const tb = timeOf(b);
      if (ta !== tb) return ta - tb;
      return (a.id ?? Infinity) - (b.id ?? Infinity);
    });
  }

  render(scrollToEnd) {
    const nearEnd = this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 80;
    const messages = this.sorted();
    const activity = [...this.activity].sort((a, b) => timeOf(a) - timeOf(b) || (a.id ?? 0) - (b.id ?? 0));
    const nodes = [];
    let next = 0;
    for (const m of messages) {
      // An action goes before the first message that came after it.
      while (next < activity.length && timeOf(activity[next]) < timeOf(m)) nodes.push(renderActivity(activity[next++]));
      nodes.push(renderMessage(m, this.options));
    }
    while (next < activity.length) nodes.push(renderActivity(activity[next++]));
    this.root.replaceChildren(...nodes);
    if (!messages.length) this.root.append(el('p', { class: 'muted empty', text: 'No messages yet.' }));
    if (scrollToEnd || nearEnd) this.root.scrollTop = this.root.scrollHeight;
  }
}
