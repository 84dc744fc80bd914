// Statistics view: numbers and plain-SVG charts (no chart library, no build step).

import { clear, el, formatShort, svg } from './dom.js';

// Charts are drawn at the width they are shown at (one SVG unit = one CSS pixel), so their text
// stays at the page's 12px instead of shrinking with a viewBox scaled to a narrow card.
const FALLBACK_WIDTH = 600;
const MIN_WIDTH = 280;
const H = 220;
const PAD = { left: 40, right: 10, top: 12, bottom: 28 };
const hourLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit' });
const dayHourLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit' });
const clockLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

const QUEUE_SAMPLES = 360; // one hour of 10-second stats frames
const queueHistory = [];

/** The number of conversations waiting for a human, whatever name the payload gives it. */
export function queueSize(stats) {
  if (!stats || typeof stats !== 'object') return null;
  const inner = stats.stats && typeof stats.stats === 'object' ? stats.stats : stats;
  const queue = inner.needs_human_queue;
  if (queue && typeof queue === 'object' && typeof queue.conversations === 'number') return queue.conversations;
  // Conversations waiting when the payload has them, else the original's count of flagged messages.
  for (const key of ['needs_human_queue', 'needs_human_conversations', 'messages_requiring_human']) {
    if (typeof inner[key] === 'number') return inner[key];
  }
  return null;
}

export function recordQueue(stats) {
  const size = queueSize(stats);
  if (size === null) return;
  queueHistory.push({ t: Date.now(), n: size });
  if (queueHistory.length > QUEUE_SAMPLES) queueHistory.shift();
}

function num(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function rate(value) {
  const n = num(value);
  if (n === null) return null;
  return n > 1 ? n / 100 : n; // accept 0..1 or a percentage
}

function seconds(value) {
  const n = num(value);
  if (n === null) return '—';
  if (n < 90) return `${Math.round(n)} s`;
  if (n < 5400) return `${Math.round(n / 60)} min`;
  return `${(n / 3600).toFixed(1)} h`;
}

function pct(value) {
  const r = rate(value);
  return r === null ? '—' : `${(r * 100).toFixed(1)} %`;
}

function pick(obj, ...keys) {
  for (const key of keys) if (obj && obj[key] !== undefined && obj[key] !== null) return obj[key];
  return null;
}

/** per_platform may be {messenger: {...}} or [{platform: 'messenger', ...}]. */
function platforms(stats) {
  const per = stats.per_platform || stats.platforms || null;
  if (!per) return [];
  if (Array.isArray(per)) return per.map((p) => [String(p.platform || '?'), p]);
  return Object.entries(per);
}

function card(label, value, onClick = null) {
  const parts = [el('div', { class: 'stat-value', text: value }), el('div', { class: 'stat-label muted', text: label })];
  if (!onClick) return el('div', { class: 'card stat' }, ...parts);
  return el('button', { type: 'button', class: 'card stat clickable', onclick: onClick }, ...parts);
}

function messageTotal(stats) {
  const direct = pick(stats, 'total_messages');
  if (direct !== null) return direct;
  const rows = Array.isArray(stats.messages_per_hour) ? stats.messages_per_hour : [];
  return rows.reduce((sum, r) => sum + (Number(r.count) || 0), 0);
}

function renderCards(root, stats, { onLowRatings = null } = {}) {
  const total = pick(stats, 'conversations_in_range', 'total_conversations');
  const confidence = num(pick(stats, 'average_bot_confidence', 'avg_confidence'));
  clear(root).append(
    card('Conversations', total ?? '—'),
    card('Messages', messageTotal(stats)),
    card('Waiting for a human', queueSize(stats) ?? '—'),
    card('Handoff rate', pct(pick(stats, 'handoff_rate'))),
    card('Median first human reply', seconds(pick(stats, 'median_first_human_response_seconds', 'median_first_response_seconds'))),
    card('Avg bot confidence', confidence === null ? '—' : confidence.toFixed(2)),
    // A click lists the customers who rated 1-2, to call back.
    card(ratingLabel(stats.ratings), ratingValue(stats.ratings), stats.ratings?.count && onLowRatings ? onLowRatings : null),
  );
}

/** The rating card's value ("4.3/5") and label ("Customer rating · 12 ratings"): customers' answers to
 *  "How did we do?" after staff closed their conversation. */
function ratingValue(ratings) {
  const average = num(ratings?.average);
  return average === null || !ratings.count ? '—' : `${average.toFixed(1)}/5`;
}

function ratingLabel(ratings) {
  const count = num(ratings?.count);
  return count ? `Customer rating · ${count} rating${count === 1 ? '' : 's'}` : 'Customer rating';
}

function widthOf(root) {
  const shown = Math.floor(root.getBoundingClientRect().width);
  return shown > 0 ? Math.max(MIN_WIDTH, shown) : FALLBACK_WIDTH;
}

function chartSvg(width, height, title) {
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title, class: 'chart-svg' });
}

function emptyChart(root, text) {
  clear(root).append(el('p', { class: 'muted chart-empty', text }));
}

function axis(chart, maxValue, W) {
  const y0 = H - PAD.bottom;
  chart.append(svg('line', { x1: PAD.left, y1: y0, x2: W - PAD.right, y2: y0, class: 'axis' }));
  chart.append(svg('text', { x: PAD.left - 6, y: PAD.top + 10, class: 'axis-label', 'text-anchor': 'end', text: String(maxValue) }));
  chart.append(svg('text', { x: PAD.left - 6, y: y0, class: 'axis-label', 'text-anchor': 'end', text: '0' }));
}

function barChart(root, points, { label, title }) {
  if (!points.length) return emptyChart(root, 'No data for this period.');
  const max = Math.max(1, ...points.map((p) => p.value));
  const W = widthOf(root);
  const chart = chartSvg(W, H, title);
  axis(chart, max, W);
  const inner = W - PAD.left - PAD.right;
  const step = inner / points.length;
  // As many hour labels as fit (~7px a character at 12px), so a week's "Nov 27, 08" never overlap.
  const widest = Math.max(...points.map((p) => label(p, false).length)) * 7 + 12;
  const labelEvery = Math.max(1, Math.ceil(points.length / Math.max(1, Math.floor(inner / widest))));
  points.forEach((p, i) => {
    const h = ((H - PAD.top - PAD.bottom) * p.value) / max;
    const x = PAD.left + i * step + step * 0.1;
    if (p.value > 0) {
      const bar = svg('rect', { x, y: H - PAD.bottom - h, width: Math.max(1, step * 0.8), height: h, class: 'bar' });
      bar.append(svg('title', { text: `${label(p, true)}: ${p.value}` }));
      chart.append(bar);
    }
    if (i % labelEvery === 0) {
      chart.append(svg('text', { x: x + step * 0.4, y: H - 10, class: 'axis-label', 'text-anchor': 'middle', text: label(p, false) }));
    }
  });
  clear(root).append(chart);
}

const HOUR_MS = 3600_000;
const DAILY_FROM_MS = 8 * 24 * HOUR_MS; // beyond a week an hour's bar is under a pixel wide: days instead
const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** Every hour of the period, quiet ones as 0 (the API lists only hours with messages), so the
 *  bars read as a day's rhythm; a month is summed per day in the viewer's time zone. */
function timeline(stats) {
  const counts = new Map();
  for (const r of Array.isArray(stats.messages_per_hour) ? stats.messages_per_hour : []) {
    const at = new Date(r.hour).getTime();
    if (!Number.isNaN(at)) counts.set(at, (counts.get(at) || 0) + (Number(r.count) || 0));
  }
  const since = new Date(stats.since).getTime();
  const until = new Date(stats.until).getTime();
  const known = [...counts.keys()];
  const first = new Date(Number.isNaN(since) ? Math.min(...known) : since);
  first.setMinutes(0, 0, 0); // the viewer's own hours (the panel asks the API for them: `tz`)
  const start = first.getTime();
  const end = Number.isNaN(until) ? Math.max(...known) : until;
  if (!Number.isFinite(start) || !Number.isFinite(end) || end - start > 100 * 24 * HOUR_MS) {
    return { daily: false, points: known.sort((a, b) => a - b).map((t) => ({ at: new Date(t), value: counts.get(t) })) };
  }
  const hours = [];
  for (let t = start; t <= end; t += HOUR_MS) hours.push({ at: new Date(t), value: 0 });
  // Each count into the slot holding its hour, whether the API's hours are ours or UTC's.
  for (const [t, n] of counts) {
    const slot = hours[Math.floor((t - start) / HOUR_MS)];
    if (slot) slot.value += n;
  }
  if (end - start < DAILY_FROM_MS) return { daily: false, points: hours };
  const days = [];
  for (const h of hours) {
    const day = new Date(h.at.getFullYear(), h.at.getMonth(), h.at.getDate()).getTime();
    if (days.length && days[days.length - 1].key === day) days[days.length - 1].value += h.value;
    else days.push({ key: day, at: new Date(day), value: h.value });
  }
  return { daily: true, points: days };
}

const dayClockLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** An hour that does not start on the viewer's hour (an API asked without `tz`) says "14:30". */
function hourName(at, daily, withDay) {
  if (daily) return dayLabel.format(at);
  if (at.getMinutes() !== 0) return (withDay ? dayClockLabel : clockLabel).format(at);
  return (withDay ? dayHourLabel : hourLabel).format(at);
}

function renderHourly(root, stats) {
  const { daily, points } = timeline(stats);
  const caption = root.closest('figure')?.querySelector('figcaption');
  if (caption) caption.textContent = daily ? 'Messages per day' : 'Messages per hour';
  if (!points.some((p) => p.value > 0)) return emptyChart(root, 'No messages in this period.');
  const multiDay = points.length > 1 && points[points.length - 1].at - points[0].at > 24 * HOUR_MS;
  barChart(root, points, {
    title: daily ? 'Messages per day' : 'Messages per hour',
    label: (p, long) => hourName(p.at, daily, long || multiDay),
  });
}

function hbars(root, rows, format, title) {
  if (!rows.length) return emptyChart(root, 'No data for this period.');
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  const rowH = 34;
  const height = rows.length * rowH + 10;
  const W = widthOf(root);
  const labelW = 130; // "messenger (now)" at 12px
  const valueW = 70;  // "100.0 %", "12 min"
  const chart = chartSvg(W, height, title);
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    const width = Math.max(2, ((W - labelW - valueW) * r.value) / max);
    chart.append(svg('text', { x: 0, y: y + 20, class: 'axis-label', text: r.label }));
    chart.append(svg('rect', { x: labelW, y: y + 4, width, height: 22, class: 'bar' }));
    chart.append(svg('text', { x: labelW + width + 8, y: y + 20, class: 'axis-label value', text: format(r.value) }));
  });
  clear(root).append(chart);
}

function renderHandoff(root, stats) {
  const rows = [];
  const overall = rate(stats.handoff_rate);
  if (overall !== null) rows.push({ label: 'All', value: overall });
  for (const [name, p] of platforms(stats)) {
    // Per platform: share of open conversations a human holds now (or the platform's own rate).
    const r = rate(p.handoff_rate) ?? (p.open ? (Number(p.human) || 0) / p.open : null);
    if (r !== null) rows.push({ label: `${name} (now)`, value: r });
  }
  hbars(root, rows, (v) => `${(v * 100).toFixed(1)} %`, 'Handoff rate');
  const handed = num(stats.handed_off_conversations);
  const total = num(stats.conversations_in_range);
  if (handed !== null && total !== null) root.append(el('p', { class: 'muted', text: `${handed} of ${total} conversations reached a human.` }));
}

function renderResponse(root, stats) {
  const rows = [];
  const keys = ['median_first_human_response_seconds', 'median_first_response_seconds'];
  const overall = num(pick(stats, ...keys));
  if (overall !== null) rows.push({ label: 'All', value: overall });
  for (const [name, p] of platforms(stats)) {
    const v = num(pick(p, ...keys));
    if (v !== null) rows.push({ label: name, value: v });
  }
  hbars(root, rows, seconds, 'Median first human reply');
  const asked = num(stats.human_requests);
  const answered = num(stats.human_requests_answered);
  if (asked !== null && answered !== null) root.append(el('p', { class: 'muted', text: `${answered} of ${asked} requests for a human answered.` }));
}

export function renderQueue(root) {
  if (!root) return;
  if (!queueHistory.length) return emptyChart(root, 'Waiting for live numbers…');
  const max = Math.max(1, ...queueHistory.map((s) => s.n));
  const W = widthOf(root);
  const chart = chartSvg(W, H, 'Needs-human queue');
  axis(chart, max, W);
  const t0 = queueHistory[0].t;
  const span = Math.max(1, queueHistory[queueHistory.length - 1].t - t0);
  const xy = (s) => [
    PAD.left + ((W - PAD.left - PAD.right) * (s.t - t0)) / span,
    H - PAD.bottom - ((H - PAD.top - PAD.bottom) * s.n) / max,
  ];
  const points = queueHistory.map((s) => xy(s).map((v) => v.toFixed(1)).join(',')).join(' ');
  chart.append(svg('polyline', { points, class: 'line' }));
  const last = queueHistory[queueHistory.length - 1];
  const [lx, ly] = xy(last);
  chart.append(svg('circle', { cx: lx, cy: ly, r: 4, class: 'dot' }));
  chart.append(svg('text', { x: PAD.left, y: H - 8, class: 'axis-label', text: clockLabel.format(new Date(t0)) }));
  chart.append(svg('text', { x: W - PAD.right, y: H - 8, class: 'axis-label', 'text-anchor': 'end', text: `${clockLabel.format(new Date(last.t))} · ${last.n} waiting` }));
  clear(root).append(chart);
}

let shownStats = null; // the last statistics drawn, to draw again at a new width

function renderCharts(body) {
  renderHourly(document.getElementById('chart-hourly'), body);
  renderHandoff(document.getElementById('chart-handoff'), body);
  renderResponse(document.getElementById('chart-response'), body);
  renderQueue(document.getElementById('chart-queue'));
}

export function renderStats(stats, options = {}) {
  const body = stats && stats.stats && typeof stats.stats === 'object' ? stats.stats : stats || {};
  shownStats = body;
  renderCards(document.getElementById('stats-cards'), body, options);
  recordQueue(body);
  renderCharts(body);
}

/** The window was resized: the same figures, drawn at the cards' new width. */
export function redrawCharts() {
  if (shownStats) renderCharts(shownStats);
}

/** What became of the question: the bot answers it now (admin-api asked the agent with the list,
 *  whatever words staff taught it in), or "Answer it" for admins. */
function outcome(q, teach) {
  if (q.answered_now === true) {
    return el('span', { class: 'muted taught', text: 'Answered now', title: 'The bot answers this question today' });
  }
  return teach ? el('button', { type: 'button', class: 'teach', text: 'Answer it', title: 'Teach the bot the answer',
    onclick: () => teach(q.text) }) : el('span');
}

/**
 * "Questions the bot could not answer" (GET /admin/stats/unanswered): what customers asked that no
 * knowledge covered, most asked first, so the cafe knows what to teach the bot. Each opens the
 * conversation of its newest asking; "Answer it" (admins) starts a Knowledge entry with the question.
 * The customer's text goes in as text only.
 */
export function renderUnanswered(root, rows, open, teach = null) {
  clear(root);
  const list = Array.isArray(rows) ? rows : [];
  if (!list.length) {
    root.append(el('p', { class: 'muted', text: 'Every question in this period had an answer.' }));
    return;
  }
  const items = el('ol', { class: 'unanswered' });
  for (const q of list) {
    const asked = Number(q.asked) || 0;
    items.append(el('li', {},
      el('span', { class: 'count', text: `${asked}×`, title: `asked ${asked} times in this period` }),
      el('button', { type: 'button', class: 'link', dir: 'auto', text: q.text, title: 'Open the latest conversation that asked it',
        onclick: () => open(q.conversation_id) }),
      el('span', { class: 'muted', text: formatShort(q.last_asked_at) }),
      outcome(q, teach)));
  }
  root.append(items);
}

const TEAM_COLUMNS = [
  ['Replies', (s) => s.replies, 'messages sent to customers'],
  ['Conversations', (s) => s.conversations, 'conversations replied in'],
  ['First answers', (s) => s.first_replies, 'customers who asked for a person and got their first answer from them'],
  ['Median wait', (s) => seconds(s.median_first_reply_seconds), 'how long those customers waited, median'],
  ['Takeovers', (s) => s.takeovers, 'conversations taken over from the bot'],
  ['Hand-backs', (s) => s.handbacks, 'conversations handed back to the bot'],
  ['Closes', (s) => s.closes, 'conversations closed'],
  ['Notes', (s) => s.notes, 'notes left for colleagues'],
  ['Rating', (s) => teamRating(s), 'customers\' ratings of the conversations they wrote in'],
];

function teamRating(s) {
  const average = num(s.average_rating);
  return average === null ? '—' : `${average.toFixed(1)}/5 · ${s.rated}`;
}

/** Who wrote it: a staff member's name, or where the reply came from when no panel user wrote it. */
function teamName(s) {
  if (s.actor === 'page_inbox') return 'Facebook Page inbox';
  return s.name || s.actor || 'Not recorded';
}

/**
 * "Team" (GET /admin/stats/staff, admins): one row per staff member who did anything in the period,
 * the busiest first. Names go in as text only.
 */
export function renderTeam(root, rows) {
  const list = Array.isArray(rows) ? rows : [];
  if (!list.length) return emptyChart(root, 'Nobody on the team answered a customer in this period.');
  const head = el('tr', {}, el('th', { scope: 'col', text: 'Staff' }),
    ...TEAM_COLUMNS.map(([label, , title]) => el('th', { scope: 'col', text: label, title })));
  const body = el('tbody', {}, ...list.map((s) => el('tr', {},
    el('th', { scope: 'row', dir: 'auto', text: teamName(s), title: s.actor || '' }),
    ...TEAM_COLUMNS.map(([, value]) => el('td', { text: String(value(s) ?? '—') })))));
  clear(root).append(el('table', { class: 'team-table' }, el('thead', {}, head), body));
}
