// Days the cafe is closed ("power cut, closed today", "closed for Thingyan") or open other hours
// ("closing at 15:00 for a private party"): set here, every agent replica tells customers who ask
// about that day within moments, with the note, and promises a person only for when the cafe
// opens. Days are this device's calendar days (the cafe's, as "Sold out today" assumes). The
// notes are staff text: set as text only.

import { ServerRows } from './api.js';
import { $, confirmed, el } from './dom.js';

/** YYYY-MM-DD of `now` on this device's clock. */
export function localDay(now = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** 'Saturday, 28 November 2026' for a YYYY-MM-DD (read as a local day, not UTC midnight). */
export function dayName(day) {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(year, month - 1, date).toLocaleDateString(undefined,
    { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

export class ClosedDays extends ServerRows {
  /** @param {{canEdit: () => boolean, onError: (err: Error) => void}} options */
  constructor({ canEdit, onError }) {
    super('/admin/closed-days', 'days', onError);
    this.canEdit = canEdit;
  }

  load() {
    this.path = `/admin/closed-days?from=${localDay()}`; // the days from the cafe's today on
    return super.load();
  }

  render() {
    const today = localDay();
    $('#closed-form').hidden = !this.canEdit();
    $('#closed-date').min = today;
    if (!$('#closed-date').value) $('#closed-date').value = today;
    // The knowledge file's days (the agent's; null when it cannot say) beside the ones set here.
    const fromFile = (this.response.file_days || []).map((day) => ({ ...day, fromFile: true }));
    const days = [...this.rows, ...fromFile].sort((a, b) => a.date.localeCompare(b.date));
    const next = days[0];
    const todays = next && next.date === today ? (next.open ? `today ${next.open}–${next.close}` : 'closed today') : '';
    $('#closed-summary').textContent = !next ? 'Closed days and changed hours: none ahead'
      : `Closed days and changed hours: ${todays || dayName(next.date)}`
        + (days.length > 1 ? ` and ${days.length - 1} more` : '');
    this.renderCards('#closed-list', 'No day ahead: the usual hours apply.', days);
    if (this.response.file_days === null) {
      $('#closed-list').prepend(el('p', { class: 'muted',
        text: 'The days of the cafe\'s knowledge file are not shown: the bot is not reachable.' }));
    }
  }

  card(row) {
    const notes = [row.note_en, row.note_mm].filter(Boolean).join(' · ');
    const action = this.canEdit() && !row.fromFile ? el('button', { type: 'button', class: 'closed-reopen',
      text: 'Open as usual', onclick: (event) => this.reopen(row, event.currentTarget) }) : null;
    const hours = row.open ? `open ${row.open}–${row.close}` : 'closed all day';
    return el('div', { class: `menu-item closed-day${row.fromFile ? ' from-file' : ''}`, dataset: { date: row.date } },
      el('span', { class: 'menu-name', text: dayName(row.date) }),
      el('span', { class: row.open ? 'closed-hours' : 'closed-hours menu-sold-out', text: hours }),
      el('span', { class: 'muted closed-note', dir: 'auto', text: row.fromFile ? 'from the cafe\'s knowledge file' : notes || 'no note' }),
      row.fromFile ? null : el('span', { class: 'muted', text: `by ${row.by}` }),
      action);
  }

  async save() {
    const day = $('#closed-date').value;
    if (!day) return;
    const body = { note_en: $('#closed-note_en').value.trim(), note_mm: $('#closed-note_mm').value.trim() };
    const [open, close] = [$('#closed-open').value, $('#closed-close').value];
    if (open || close) Object.assign(body, { open, close }); // one without the other: the API says so
    $('#closed-submit').disabled = true;
    try {
      if (await this.write('PUT', `/admin/closed-days/${encodeURIComponent(day)}`, body)) {
        for (const field of ['#closed-open', '#closed-close', '#closed-note_en', '#closed-note_mm']) $(field).value = '';
      }
    } finally {
      $('#closed-submit').disabled = false;
    }
  }

  /** Two clicks, no modal: the first arms the button, the second opens the day again. */
  async reopen(row, button) {
    if (!confirmed(button, 'Click again: open that day')) return;
    await this.write('DELETE', `/admin/closed-days/${encodeURIComponent(row.date)}`);
  }
}
