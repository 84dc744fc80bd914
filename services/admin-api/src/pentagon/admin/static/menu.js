// The cafe's menu as the bot knows it, what is sold out and what costs what: marked here, every
// agent replica tells customers within moments ("Sorry, Mango Smoothie is sold out for now") and
// lists it as sold out; a price set here is the one the bot quotes until "Menu file price".
// "Sold out today" ends at the next midnight of this device's clock (the cafe's day), so nobody
// has to remember to put it back in the morning. Names are the cafe's text: set as text.

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
    const changed = item.price_by ? ` (menu file: ${item.file_price.toLocaleString()}, set by ${item.price_by})` : '';
    return el('div', { class: `menu-item${item.sold_out ? ' is-sold-out' : ''}`, dataset: { id: item.id } },
      el('span', { class: 'menu-name', dir: 'auto', text: name }),
      el('span', { class: 'muted menu-price', text: `${item.price.toLocaleString()} ${item.currency}${changed}` }),
      this.canEdit() ? this.priceEditor(item) : null,
      state, action);
  }

  /** A new price, quoted by the bot within moments; "Menu file price" puts the file's back. */
  priceEditor(item) {
    const path = `/admin/menu/${encodeURIComponent(item.id)}/price`;
    const input = el('input', { type: 'number', min: '1', step: 'any', class: 'menu-price-input',
      value: String(item.price), 'aria-label': `New price of ${item.name_en}` });
    return el('span', { class: 'menu-price-edit' }, input,
      el('button', { type: 'button', class: 'menu-set-price', text: 'Set price',
        onclick: () => this.write('PUT', path, { price: Number(input.value) }) }),
      item.price_by ? el('button', { type: 'button', class: 'menu-file-price', text: 'Menu file price',
        onclick: () => this.write('DELETE', path) }) : null);
  }
}
