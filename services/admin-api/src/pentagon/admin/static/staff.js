// Staff access (admins only): who may sign in, revoking a name at once when someone leaves or a
// token leaks (the server closes that person's live connections on every replica), and tokens
// for new staff created here, shown once, and withdrawn here.

import { ServerRows, call } from './api.js';
import { $, clear, confirmed, el, formatFull } from './dom.js';

export class StaffAccess extends ServerRows {
  /** @param {{me: () => string, onError: (err: Error) => void}} options */
  constructor({ me, onError }) {
    super('/admin/staff', 'staff', onError);
    this.me = me;
  }

  render() {
    this.renderCards('#staff-list', 'No staff tokens configured and nobody revoked.');
  }

  card(row) {
    const who = row.source === 'token' ? `token, ${row.role}`
      : row.source === 'issued' ? `token created here, ${row.role}` : 'Supabase account';
    const change = row.changed_by ? `${row.revoked ? 'revoked' : 'restored'} by ${row.changed_by}, ${formatFull(row.changed_at)}` : '';
    const self = row.name === this.me();
    const button = row.revoked
      ? el('button', { type: 'button', class: 'staff-restore', text: 'Restore access',
        onclick: () => this.change('restore', row.name) })
      : el('button', { type: 'button', class: 'danger staff-revoke', text: 'Revoke access', disabled: self,
        title: self ? 'You cannot revoke your own access' : null,
        onclick: (event) => this.revoke(row.name, event.currentTarget) });
    const issued = row.source === 'issued' ? `created by ${row.issued_by}, ${formatFull(row.issued_at)}` : '';
    const withdraw = row.source === 'issued'
      ? el('button', { type: 'button', class: 'danger staff-withdraw', text: 'Withdraw token', disabled: self,
        onclick: (event) => this.withdraw(row.name, event.currentTarget) })
      : null;
    return el('article', { class: `card staff-item${row.revoked ? ' revoked' : ''}`, dataset: { name: row.name } },
      el('h3', { text: row.name }),
      el('p', { class: 'muted', text: `${who} · ${row.revoked ? 'access revoked' : 'may sign in'}` }),
      issued ? el('p', { class: 'muted', text: issued }) : null,
      change ? el('p', { class: 'muted', text: change }) : null,
      el('div', { class: 'saved-form-actions' }, button, withdraw));
  }

  /** From the token form: the token is shown once, here, and never again. */
  async issueTyped() {
    const name = $('#token-name').value.trim();
    const role = $('#token-role').value;
    const shown = $('#token-issued');
    clear(shown);
    shown.hidden = true;
    if (!name) return;
    try {
      const data = await call('POST', '/admin/staff/tokens', { body: { name, role } });
      shown.append(el('p', { text: `Token for ${name} (${role}); copy it now, it is not shown again:` }),
        el('code', { class: 'token-value', text: data.token }));
      shown.hidden = false;
      $('#token-name').value = '';
    } catch (err) {
      this.onError(err);
    } finally {
      await this.load();
    }
  }

  /** Two clicks, like revoking: their open panels are signed out on every server. */
  async withdraw(name, button) {
    if (confirmed(button, 'Click again to withdraw')) await this.change('withdraw', name);
  }

  /** From the form: a Supabase user is named by email, as the panel shows them. */
  async revokeTyped() {
    const name = $('#staff-name').value.trim();
    if (!name) return;
    if (await this.change('revoke', name)) $('#staff-name').value = '';
  }

  async revoke(name, button) {
    if (confirmed(button, 'Click again to revoke')) await this.change('revoke', name);
  }

  /** revoke, restore or withdraw; a 503 may still have changed the access (only the audit failed). */
  change(action, name) {
    return this.write('POST', `/admin/staff/${action}`, { name });
  }
}
