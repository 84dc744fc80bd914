// What staff teach the bot: questions and answers the agent answers from within moments of a save,
// on every replica (agent staff_knowledge.py). Mostly filled from the statistics view's list of
// questions the bot could not answer. "Ask the bot" puts a question to the same agent customers
// reach and shows its answer here only. Everything here is staff- or bot-written text: set as text only.

import { post, ServerRows } from './api.js';
import { $, clear, confirmed, el } from './dom.js';
import { confidenceBadge } from './thread.js';

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

  /** From "Questions the bot could not answer": the customer's words, in the field of their script,
   *  and in "Ask the bot" to check the answer once taught. */
  answer(question) {
    this.resetForm();
    const burmese = /[\u1000-\u109f]/.test(question);
    const words = question.trim().replace(/\s+/g, ' ');
    $(burmese ? '#kb-question_mm' : '#kb-question_en').value = words;
    $('#kb-try-text').value = words;
    $('#kb-try-result').hidden = true;
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

  async ask() {
    const text = $('#kb-try-text').value.trim();
    if (!text) return;
    const button = $('#kb-try-submit');
    button.disabled = true;
    try {
      this.showReply((await post('/admin/agent/try', { text })).reply);
    } catch (err) {
      this.onError(err);
    } finally {
      button.disabled = false;
    }
  }

  /** The answer as a customer would see it, then how the bot came to it. */
  showReply(reply) {
    const box = clear($('#kb-try-result'));
    box.hidden = false;
    const top = reply.sources[0];
    const taught = top && this.rows.find((row) => top.id === `faq:staff-${row.id}`);
    const from = taught ? `from what you taught: "${taught.question_en || taught.question_mm}"`
      : top ? `from ${top.id}` : 'from nothing in its knowledge';
    const handover = reply.requires_human
      ? `hands over to a person (${reply.escalation_reason || 'needs a person'})` : 'answers by itself';
    box.append(
      el('p', { class: 'saved-text kb-try-answer', dir: 'auto', text: reply.text }),
      reply.quick_replies.length ? el('p', { class: 'muted', dir: 'auto', text: `Buttons: ${reply.quick_replies.join(' · ')}` }) : null,
      el('p', { class: `kb-try-meta muted${reply.requires_human ? ' kb-try-handover' : ''}` },
        confidenceBadge(reply.confidence), ` ${handover}, ${from}`),
    );
  }
}
