// Blocked customers (on the Staff tab): every block in one place, so an admin can lift one
// whose conversations are closed, erased or buried. A block made anywhere shows up live.

import { ServerRows } from './api.js';
import { el, formatFull } from './dom.js';

export class BlockedCustomers extends ServerRows {
  /** @param {{onError: (err: Error) => void, onOpen: (platform: string, userId: string) => void}} options */
  constructor({ onError, onOpen }) {
    super('/admin/customers/blocked', 'customers', onError);
    this.onOpen = onOpen;
  }

  render() {
    this.renderCards('#blocked-list', 'Nobody is blocked.');
  }

  card(row) {
    const by = row.blocked_by ? `blocked by ${row.blocked_by}, ${formatFull(row.blocked_at)}` : 'blocked';
    return el('article', { class: 'card staff-item blocked-item', dataset: { user: row.user_id } },
      el('h3', { text: `${row.platform} · ${row.user_id}` }),
      el('p', { class: 'muted', text: by }),
      el('div', { class: 'saved-form-actions' },
        el('button', { type: 'button', class: 'blocked-open', text: 'Latest conversation',
          onclick: () => this.onOpen(row.platform, row.user_id) }),
        el('button', { type: 'button', class: 'blocked-unblock', text: 'Unblock',
          onclick: () => this.unblock(row.platform, row.user_id) })));
  }

  unblock(platform, userId) {
    return this.write('POST', `/admin/customers/${encodeURIComponent(platform)}/${encodeURIComponent(userId)}/unblock`);
  }
}
