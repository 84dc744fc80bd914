// Who else is on the open conversation right now (admin-api presence.py): "bob is typing…" under
// its title, so two staff members do not answer the same customer at once. Names come from the
// server (the other socket's sign-in) and are only ever set as text.

const VIEWING_EVERY_MS = 15_000; // others forget "viewing" after 30 s: said twice per period
const TYPING_EVERY_MS = 3_000; // others forget "typing" after 6 s
const MAX_TTL_S = 60;

export class Presence {
  /**
   * @param {{send: (frame: object) => void, me: () => string|undefined, currentId: () => number|null,
   *          render: (text: string) => void, changed?: () => void}} hooks  changed: redraw the list
   */
  constructor({ send, me, currentId, render, changed = () => {} }) {
    this.send = send;
    this.me = me;
    this.currentId = currentId;
    this.renderText = render;
    this.changed = changed;
    this.others = new Map(); // "id|activity|name" -> {id, name, activity, until}
    this.lastTyping = 0;
    this.timer = null;
  }

  start() {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.viewing(), VIEWING_EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.others.clear();
    this.render();
  }

  /** Tells the others this conversation is open here (only while the page is on screen). */
  viewing() {
    const id = this.currentId();
    if (id !== null && document.visibilityState === 'visible') this.send({ type: 'viewing', conversation_id: id });
  }

  /** Called on every keystroke in the reply box; said at most every few seconds. */
  typing() {
    const id = this.currentId();
    const now = Date.now();
    if (id === null || now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    this.send({ type: 'typing', conversation_id: id });
  }

  heard(data) {
    if (!data || typeof data.name !== 'string' || !Number.isSafeInteger(data.conversation_id)) return;
    if (!['viewing', 'typing'].includes(data.activity) || data.name === this.me()) return;
    const ttl = Math.min(MAX_TTL_S, Math.max(1, Number(data.ttl_s) || 0));
    const key = `${data.conversation_id}|${data.activity}|${data.name}`;
    this.others.set(key, { id: data.conversation_id, name: data.name, activity: data.activity,
      until: Date.now() + ttl * 1000 });
    this.render();
    this.changed();
    setTimeout(() => { this.render(); this.changed(); }, ttl * 1000 + 50);
  }

  render() {
    this.renderText(this.describe(this.currentId()));
  }

  describe(id) {
    const { typing, viewing } = this.on(id);
    const parts = typing.map((name) => `${name} is typing…`);
    parts.push(...viewing.map((name) => `${name} is viewing`));
    return parts.join(' · ');
  }

  /** For the conversation list: "✎ bob" while someone types, "👁 bob, carol" while they look. */
  badge(id) {
    const { typing, viewing } = this.on(id);
    if (typing.length) return `✎ ${typing.join(', ')}`;
    return viewing.length ? `👁 ${viewing.join(', ')}` : '';
  }

  /** Who is on conversation `id` now (expired entries are dropped on the way). */
  on(id) {
    const now = Date.now();
    const typing = new Set();
    const viewing = new Set();
    for (const [key, entry] of this.others) {
      if (entry.until <= now) this.others.delete(key);
      else if (entry.id === id) (entry.activity === 'typing' ? typing : viewing).add(entry.name);
    }
    for (const name of typing) viewing.delete(name);
    return { typing: [...typing], viewing: [...viewing] };
  }
}
