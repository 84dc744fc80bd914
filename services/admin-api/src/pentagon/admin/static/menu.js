// The cafe's menu as the bot knows it, and what is sold out: marked here, every agent replica
// tells customers within moments ("Sorry, Mango Smoothie is sold out for now") and lists it as
// sold out. "Sold out today" ends at the next midnight of this device's clock (the cafe's day),
// so nobody has to remember to put it back in the morning. Names are the cafe's text: set as text.

import { ServerRows } from './api.js';
import { $, el, formatFull } from './dom.js';

/** The next local midnight: the end of the cafe's day on the device behind the counter. */
export function endOfToday(now = new Date()) {
  const midnight = new Date(now);
  midnight.setHours(24, 0, 0, 0);
  return midnight;
}

export class MenuBoard extends ServerRows {
  /** @param {{canEdit: () => boolean, onError: (err: Error) => void}} options */
  constructor({ canEdit, onError }) {
    super('/admin/menu', 'items', onError);
    this.canEdit = canEdit;
  }

  render() {
    const soldOut = this.rows.filter((item) => item.sold_out).length;
    $('#menu-summary').textContent = soldOut
      ? `Menu: ${soldOut} sold out (the bot tells customers)` : 'Menu: everything on sale';
    this.renderCards('#menu-list', 'The bot has no menu (Menu.json) to show.');
  }

  card(item) {
    const name = item.name_mm ? `${item.name_en} · ${item.name_mm}` : item.name_en;
    const until = item.sold_out_until ? `sold out until ${formatFull(item.sold_out_until)}` : 'sold out until put back';
    const state = item.sold_out ? el('span', { class: 'menu-sold-out', text: until }) : null;
    let action = null;
    if (this.canEdit()) {
      action = item.sold_out
        ? el('button', { type: 'button', class: 'menu-on-sale', text: 'Back on sale',
          onclick: () => this.write('DELETE', `/admin/menu/${encodeURIComponent(item.id)}/sold-out`) })
        : el('button', { type: 'button', class: 'menu-mark', text: 'Sold out today',
          onclick: () => this.write('PUT', `/admin/menu/${encodeURIComponent(item.id)}/sold-out`,
            { until: endOfToday().toISOString() }) });
    }
    return el('div', { class: `menu-item${item.sold_out ? ' is-sold-out' : ''}`, dataset: { id: item.id } },
      el('span', { class: 'menu-name', dir: 'auto', text: name }),
      el('span', { class: 'muted', text: `${item.price.toLocaleString()} ${item.currency}` }),
      state, action);
  }
}
