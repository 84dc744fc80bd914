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

function confidenceBadge(score) {
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

/** Holds the open conversation's messages keyed by event_id so live frames update in place. */
export class Thread {
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.messages = new Map();
  }

  reset(messages) {
    this.messages.clear();
    for (const m of messages) this.messages.set(this.key(m), m);
    this.render(true);
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
  }

  sorted() {
    return Array.from(this.messages.values()).sort((a, b) => {
      const ta = Date.parse(a.timestamp || a.created_at || '') || 0;
      const tb = Date.parse(b.timestamp || b.created_at || '') || 0;
      if (ta !== tb) return ta - tb;
      return (a.id ?? Infinity) - (b.id ?? Infinity);
    });
  }

  render(scrollToEnd) {
    const nearEnd = this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 80;
    const nodes = this.sorted().map((m) => renderMessage(m, this.options));
    this.root.replaceChildren(...nodes);
    if (!nodes.length) this.root.append(el('p', { class: 'muted empty', text: 'No messages yet.' }));
    if (scrollToEnd || nearEnd) this.root.scrollTop = this.root.scrollHeight;
  }
}
