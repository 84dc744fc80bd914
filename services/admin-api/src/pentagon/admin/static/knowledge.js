// What staff teach the bot: questions and answers the agent answers from within moments of a save,
// on every replica (agent staff_knowledge.py). Mostly filled from the statistics view's list of
// questions the bot could not answer. Everything here is staff-written text: set as text only.

import { ServerRows } from './api.js';
import { $, confirmed, el } from './dom.js';

const FIELDS = ['question_en', 'answer_en', 'question_mm', 'answer_mm'];

export class Knowledge extends ServerRows {
  /** @param {{canEdit: () => boolean, onError: (err: Error) => void}} options */
  constructor({ canEdit, onError }) {
    super('/admin/knowledge/faq', 'faq', onError);
    this.canEdit = canEdit;
  }

  render() {
    $('#kb-form').hidden = !this.canEdit();
    this.renderCards('#kb-list', 'Nothing added yet: the bot answers from the cafe\'s knowledge files.');
  }

  card(row) {
    const editable = this.canEdit();
    const pair = (question, answer, lang) => (question ? el('div', { class: 'kb-pair', lang },
      el('h3', { dir: 'auto', text: question }), el('p', { class: 'saved-text', dir: 'auto', text: answer })) : null);
    return el('article', { class: 'card saved-item kb-item', dataset: { id: row.id } },
      pair(row.question_en, row.answer_en, 'en'),
      pair(row.question_mm, row.answer_mm, 'my'),
      row.tags?.length ? el('p', { class: 'muted', dir: 'auto', text: `Also asked as: ${row.tags.join(', ')}` }) : null,
      el('p', { class: 'muted', text: row.updated_by ? `by ${row.updated_by}` : '' }),
      editable ? el('div', { class: 'saved-actions' },
        el('button', { type: 'button', class: 'kb-edit', text: 'Edit', onclick: () => this.edit(row) }),
        el('button', { type: 'button', class: 'danger kb-delete', text: 'Delete',
          onclick: (event) => this.remove(row, event.currentTarget) })) : null);
  }

  /** From "Questions the bot could not answer": the customer's words, in the field of their script. */
  answer(question) {
    this.resetForm();
    const burmese = /[\u1000-\u109f]/.test(question);
    $(burmese ? '#kb-question_mm' : '#kb-question_en').value = question.trim().replace(/\s+/g, ' ');
    $(burmese ? '#kb-answer_mm' : '#kb-answer_en').focus();
  }

  edit(row) {
    $('#kb-id').value = row.id;
    for (const field of FIELDS) $(`#kb-${field}`).value = row[field] || '';
    $('#kb-tags').value = (row.tags || []).join(', ');
    $('#kb-submit').textContent = 'Save changes';
    $('#kb-question_en').focus();
  }

  resetForm() {
    $('#kb-id').value = '';
    for (const field of FIELDS) $(`#kb-${field}`).value = '';
    $('#kb-tags').value = '';
    $('#kb-submit').textContent = 'Teach the bot';
  }

  async save() {
    const body = Object.fromEntries(FIELDS.map((field) => [field, $(`#kb-${field}`).value.trim()]));
    body.tags = $('#kb-tags').value.split(',').map((t) => t.trim()).filter(Boolean);
    const id = $('#kb-id').value || `q-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    $('#kb-submit').disabled = true;
    try {
      if (await this.write('PUT', `/admin/knowledge/faq/${encodeURIComponent(id)}`, body)) this.resetForm();
    } finally {
      $('#kb-submit').disabled = false;
    }
  }

  /** Two clicks, no modal: the first arms the button, the second deletes. */
  async remove(row, button) {
    if (!confirmed(button, 'Click again to delete')) return;
    if ($('#kb-id').value === row.id) this.resetForm();
    await this.write('DELETE', `/admin/knowledge/faq/${encodeURIComponent(row.id)}`);
  }
}
