// Staff access (admins only): who may sign in, and revoking a name at once when someone leaves
// or a token leaks. The server closes that person's live connections on every replica.

import { ServerRows, call } from './api.js';
import { $, clear, el, formatFull } from './dom.js';

export class StaffAccess extends ServerRows {
  /** @param {{me: () => string, onError: (err: Error) => void}} options */
  constructor({ me, onError }) {
    super('/admin/staff', 'staff', onError);
    this.me = me;
  }

  render() {
    const list = $('#staff-list');
    clear(list);
    if (!this.rows.length) list.append(el('p', { class: 'muted', text: 'No staff tokens configured and nobody revoked.' }));
    for (const row of this.rows) list.append(this.card(row));
  }

  card(row) {
    const who = row.source === 'token' ? `token, ${row.role}` : 'Supabase account';
    const change = row.changed_by ? `${row.revoked ? 'revoked' : 'restored'} by ${row.changed_by}, ${formatFull(row.changed_at)}` : '';
    const self = row.name === this.me();
    const button = row.revoked
      ? el('button', { type: 'button', class: 'staff-restore', text: 'Restore access',
        onclick: () => this.change('restore', row.name) })
      : el('button', { type: 'button', class: 'danger staff-revoke', text: 'Revoke access', disabled: self,
        title: self ? 'You cannot revoke your own access' : null,
        onclick: (event) => this.revoke(row.name, event.currentTarget) });
    return el('article', { class: `card staff-item${row.revoked ? ' revoked' : ''}`, dataset: { name: row.name } },
      el('h3', { text: row.name }),
      el('p', { class: 'muted', text: `${who} · ${row.revoked ? 'access revoked' : 'may sign in'}` }),
      change ? el('p', { class: 'muted', text: change }) : null,
      button);
  }

  /** From the form: a Supabase user is named by email, as the panel shows them. */
  async revokeTyped() {
    const name = $('#staff-name').value.trim();
    if (!name) return;
    if (await this.change('revoke', name)) $('#staff-name').value = '';
  }

  /** Two clicks, no modal: the first arms the button, the second revokes. */
  async revoke(name, button) {
    if (button.dataset.armed !== '1') {
      button.dataset.armed = '1';
      button.textContent = 'Click again to revoke';
      return;
    }
    await this.change('revoke', name);
  }

  async change(action, name) {
    try {
      await call('POST', `/admin/staff/${action}`, { body: { name } });
      return true;
    } catch (err) {
      this.onError(err); // a 503 may still have changed the access (only the audit failed): reload
      return false;
    } finally {
      await this.load();
    }
  }
}
