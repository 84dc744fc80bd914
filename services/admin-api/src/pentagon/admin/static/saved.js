// Saved replies: the picker next to the reply box, and the view where admins write them.
// Their text is user-visible content written by staff: it is only ever set as text.

import { ServerRows, call } from './api.js';
import { $, clear, confirmed, el, insertAtCaret } from './dom.js';

export class SavedReplies extends ServerRows {
  /** @param {{canEdit: () => boolean, onError: (err: Error) => void}} options */
  constructor({ canEdit, onError }) {
    super('/admin/saved-replies', 'saved_replies', onError);
    this.canEdit = canEdit;
  }

  render() {
    this.renderPicker();
    this.renderList();
  }

  renderPicker() {
    const pick = $('#saved-pick');
    clear(pick);
    pick.append(el('option', { value: '', text: this.rows.length ? 'Saved replies…' : 'No saved replies' }));
    for (const row of this.rows) pick.append(el('option', { value: row.id, text: row.title }));
    pick.value = '';
  }

  /** Puts the saved reply's text into the reply box at the caret; staff still read it and press Enter. */
  insert(id) {
    const row = this.rows.find((r) => r.id === id);
    const box = $('#reply-text');
    if (!row || box.disabled) return;
    insertAtCaret(box, row.text);
  }

  renderList() {
    const list = $('#saved-list');
    clear(list);
    const editable = this.canEdit();
    $('#saved-form').hidden = !editable;
    if (!this.rows.length) list.append(el('p', { class: 'muted', text: 'No saved replies yet.' }));
    for (const row of this.rows) {
      list.append(el('article', { class: 'card saved-item', dataset: { id: row.id } },
        el('h3', { text: row.title }),
        el('p', { class: 'saved-text', text: row.text }),
        el('p', { class: 'muted', text: row.updated_by ? `by ${row.updated_by}` : '' }),
        editable ? el('div', { class: 'saved-actions' },
          el('button', { type: 'button', class: 'saved-edit', text: 'Edit', onclick: () => this.edit(row) }),
          el('button', { type: 'button', class: 'danger saved-delete', text: 'Delete',
            onclick: (event) => this.remove(row, event.currentTarget) })) : null));
    }
  }

  edit(row) {
    $('#saved-id').value = row.id;
    $('#saved-title').value = row.title;
    $('#saved-text').value = row.text;
    $('#saved-submit').textContent = 'Save changes';
    $('#saved-title').focus();
  }

  resetForm() {
    $('#saved-id').value = '';
    $('#saved-title').value = '';
    $('#saved-text').value = '';
    $('#saved-submit').textContent = 'Add saved reply';
  }

  async save() {
    const title = $('#saved-title').value.trim();
    const text = $('#saved-text').value.trim();
    if (!title || !text) return;
    const id = $('#saved-id').value || newId(title);
    $('#saved-submit').disabled = true;
    try {
      await call('PUT', `/admin/saved-replies/${encodeURIComponent(id)}`, { body: { title, text } });
      this.resetForm();
      await this.load();
    } catch (err) {
      this.onError(err);
    } finally {
      $('#saved-submit').disabled = false;
    }
  }

  /** Two clicks, no modal: the first arms the button, the second deletes. */
  async remove(row, button) {
    if (!confirmed(button, 'Click again to delete')) return;
    try {
      await call('DELETE', `/admin/saved-replies/${encodeURIComponent(row.id)}`);
      if ($('#saved-id').value === row.id) this.resetForm();
      await this.load();
    } catch (err) {
      this.onError(err);
    }
  }
}

/** A key for a new saved reply: readable when the title is Latin, unique either way. */
function newId(title) {
  const base = title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30);
  return `${base || 'reply'}-${Math.random().toString(36).slice(2, 8)}`;
}
