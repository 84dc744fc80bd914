// The live feed: /admin/ws with automatic reconnect that resumes from the last seq seen,
// so nothing that happened while the connection was down is missed.

const SILENCE_MS = 40_000; // heartbeats come every 15 s: two missed means a dead link
const MAX_BACKOFF_MS = 10_000;
const AUTH_CLOSES = [4401, 4403]; // bad or forbidden token: retrying cannot help
const BAD_SINCE = 4422;

function base64url(text) {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export class LiveFeed {
  /**
   * @param {() => string} getToken
   * @param {(frame: object) => void} onFrame
   * @param {(state: string, detail?: string) => void} onState  state: connecting|open|reconnecting|closed|unauthorized
   */
  constructor(getToken, onFrame, onState) {
    this.getToken = getToken;
    this.onFrame = onFrame;
    this.onState = onState;
    this.lastSeq = 0;
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.retryTimer = null;
    this.openedWith = null; // the token of the current socket
    this.silenceTimer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    if (this.ws) this.ws.close(1000, 'bye');
    this.ws = null;
    this.onState('closed');
  }

  /** A small message to the server (presence); dropped while the socket is not open. */
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // batch=1: frames queued together on the server arrive as one {"type": "batch", "frames": [...]}.
    const params = new URLSearchParams({ batch: '1' });
    if (this.lastSeq) params.set('since', String(this.lastSeq));
    return `${scheme}://${location.host}/admin/ws?${params}`;
  }

  // The token travels as a subprotocol, never in the URL (logs, proxies, history).
  protocols() {
    this.openedWith = this.getToken();
    return ['pentagon.v1', `bearer.${base64url(this.openedWith)}`];
  }

  connect() {
    if (this.stopped) return;
    this.onState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url(), this.protocols());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.attempt = 0;
      this.onState('open');
      this.armSilenceTimer();
    });
    ws.addEventListener('message', (event) => this.receive(event.data));
    ws.addEventListener('close', (event) => this.closed(ws, event));
  }

  receive(text) {
    this.armSilenceTimer();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // a frame we cannot read must not stop the feed
    }
    if (frame && frame.type === 'batch' && Array.isArray(frame.frames)) {
      for (const inner of frame.frames) this.deliver(inner);
    } else {
      this.deliver(frame);
    }
  }

  deliver(frame) {
    if (!frame || typeof frame !== 'object') return;
    if (typeof frame.seq === 'number' && frame.type !== 'hello' && frame.type !== 'resync') {
      if (frame.seq <= this.lastSeq) return; // replayed after a resume: already applied
      this.lastSeq = frame.seq;
    }
    try {
      this.onFrame(frame);
    } catch (err) {
      // Reported as uncaught, as before batches existed, without dropping the rest of the batch.
      setTimeout(() => { throw err; });
    }
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    clearTimeout(this.silenceTimer);
    this.ws = null;
    if (this.stopped) return;
    if (event.code === BAD_SINCE) this.lastSeq = 0;
    if (AUTH_CLOSES.includes(event.code) && this.getToken() !== this.openedWith) {
      // The server closes a socket when the token that opened it expires; the session has been
      // renewed since: carry on with the new token from the last sequence seen.
      this.attempt = 0;
      this.connect();
      return;
    }
    if (AUTH_CLOSES.includes(event.code)) {
      this.stopped = true;
      this.onState('unauthorized', event.reason);
      return;
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    this.attempt += 1;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.attempt - 1, 5));
    const delay = base / 2 + Math.random() * (base / 2);
    this.onState('reconnecting', `retrying in ${Math.ceil(delay / 1000)} s`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  armSilenceTimer() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      // A dead link may never finish the close handshake: drop it and dial again now.
      const dead = this.ws;
      this.ws = null;
      if (dead) dead.close(4000, 'silent');
      if (!this.stopped) this.scheduleRetry();
    }, SILENCE_MS);
  }
}
