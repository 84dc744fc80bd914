// Conversation labels: the chips under the conversation's title, the box that adds one (with
// the labels in use as suggestions) and the list's label filter. Labels are staff-written text:
// only ever set as text.

import { get } from './api.js';
import { $, clear, el } from './dom.js';

export class Labels {
  /** @param {{change: (body: {add?: string[], remove?: string[]}) => Promise<boolean>}} options */
  constructor({ change }) {
    this.change = change;
    this.inUse = [];
    this.shownId = null;
  }

  /** The labels on conversations of the last 90 days: suggestions, and the list filter's choices. */
  async loadInUse() {
    try {
      const data = await get('/admin/labels?limit=200');
      this.inUse = Array.isArray(data.labels) ? data.labels : [];
    } catch {
      return; // suggestions are a convenience: the box and the filter still work without them
    }
    const suggestions = $('#label-suggestions');
    clear(suggestions);
    for (const row of this.inUse) suggestions.append(el('option', { value: row.label }));
    const filter = $('#f-label');
    const chosen = filter.value;
    clear(filter);
    filter.append(el('option', { value: '', text: 'Any label' }));
    const names = new Set(this.inUse.map((row) => row.label));
    if (chosen) names.add(chosen);
    for (const name of [...names].sort()) filter.append(el('option', { value: name, text: name }));
    filter.value = chosen;
  }

  render(c, canEdit) {
    const box = $('#conv-labels');
    clear(box);
    for (const label of c.labels || []) {
      box.append(el('span', { class: 'label-chip', dir: 'auto', dataset: { label } }, label,
        canEdit ? el('button', {
          type: 'button', class: 'ghost label-remove', 'aria-label': `Remove label ${label}`, text: '×',
          onclick: () => this.change({ remove: [label] }),
        }) : null));
    }
    const input = $('#label-add');
    input.hidden = !canEdit;
    if (this.shownId !== c.id) input.value = ''; // half-typed text belongs to the conversation it was typed in
    this.shownId = c.id;
  }

  /** Enter in the box: the typed label goes on the conversation. */
  async submit() {
    const input = $('#label-add');
    const label = input.value.trim();
    if (!label) return;
    if (!(await this.change({ add: [label] }))) return; // the error is shown; the text stays to fix
    input.value = '';
    this.loadInUse();
  }
}

/** The small chips of a list card. */
export function labelTags(c) {
  return (c.labels || []).slice(0, 3).map((label) => el('span', { class: 'label-chip small', dir: 'auto', text: label }));
}

/** The statistics view's "Labels" card: conversations per label in the period, most used first. */
export function renderLabelCounts(root, rows) {
  clear(root);
  const list = Array.isArray(rows) ? rows : [];
  if (!list.length) {
    root.append(el('p', { class: 'muted', text: 'No labelled conversations in this period.' }));
    return;
  }
  const most = Math.max(...list.map((row) => Number(row.conversations) || 0), 1);
  const table = el('div', { class: 'label-counts' });
  for (const row of list) {
    const n = Number(row.conversations) || 0;
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${Math.round((100 * n) / most)}%`; // CSSOM, not a style attribute: the CSP allows no inline styles
    table.append(el('span', { class: 'label-chip', dir: 'auto', text: row.label }), bar,
      el('span', { class: 'count', text: `${n} (${Number(row.open) || 0} open)` }));
  }
  root.append(table);
}
