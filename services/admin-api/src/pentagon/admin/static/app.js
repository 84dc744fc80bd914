// Pentagon admin panel: sign-in, live conversation list, conversation view, actions, stats.
// Plain ES modules, no build step. See docs/clients.md and docs/architecture.md.

import { ApiError, download, get, onExpired, post, query, session, supabaseRefresh, supabaseSignIn } from './api.js';
import { BlockedCustomers } from './blocked.js';
import { $, $$, debounce, el, formatFull, formatShort, insertAtCaret } from './dom.js';
import {
  ConversationList, customerLabel, durationLabel, matches, minutesSince, needsHuman, refreshWaiting,
} from './list.js';
import { Labels, renderLabelCounts } from './labels.js';
import { LiveFeed } from './live.js';
import { alertsState, beep, desktopNotify, enableAlerts, registerWorker } from './notify.js';
import { Presence } from './presence.js';
import { Knowledge } from './knowledge.js';
import { MenuBoard } from './menu.js';
import { ClosedDays } from './closed.js';
import { SavedReplies } from './saved.js';
import { StaffAccess } from './staff.js';
import { queueSize, recordQueue, redrawCharts, renderQueue, renderStats, renderTeam, renderUnanswered } from './stats.js';
import { Thread } from './thread.js';

const PAGE = 50;
const CONN_TEXT = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
  unauthorized: 'Signed out',
};

const state = {
  me: null,
  filters: { status: '', platform: '', needs_human: '', assigned_to: '', label: '', max_rating: '', q: '' },
  nextCursor: null,
  loading: false,
  generation: 0,
  currentId: null,
  current: null,
  blocked: new Map(), // "<platform>:<user_id>" -> blocked, as the detail answers and block actions said
  queueFromServer: null,
  oldestWaiting: null, // the stats' oldest_waiting_since: the longest wait, on the badge
  fetching: new Set(),
  supabase: null,
  authConfig: null, // the promise of loadAuthConfig()
  renewing: null, // the refresh in flight, shared by everyone who needs it
  renewTimer: 0,
  pushedConversation: false, // the open conversation has a history entry of its own (back = the list)
  statsLoads: 0,
  synced: false,
  colleagues: [], // admins: the other staff names, to hand a conversation to and filter by
  selfAssigned: new Set(), // conversations this panel just assigned to its own user: no alert for those
  lowRatings: new Set(), // "<id>:<rated_at>" of the low ratings this panel alerted already
};
// Renew this long before the access token expires (GoTrue's default lifetime is an hour).
const RENEW_MARGIN_S = 60;
const RENEW_RETRY_MS = 15_000;

const list = new ConversationList($('#conv-list'), (id) => openConversation(id));
const threadOptions = { canAct: false, onAction: (action, message) => messageAction(action, message) };
const thread = new Thread($('#thread'), threadOptions);
const feed = new LiveFeed(() => session.token, onFrame, onConnState);
const labels = new Labels({ change: (body) => conversationAction('labels', body) });
const saved = new SavedReplies({ canEdit: () => state.me?.role === 'admin', onError: (err) => showError(err) });
const knowledge = new Knowledge({ canEdit: () => state.me?.role === 'admin', onError: (err) => showError(err) });
const menuBoard = new MenuBoard({ canEdit: () => state.me?.role === 'admin', onError: (err) => showError(err) });
const closedDays = new ClosedDays({ canEdit: () => state.me?.role === 'admin', onError: (err) => showError(err) });
const staff = new StaffAccess({ me: () => state.me?.name, onError: (err) => showError(err) });
const blockedList = new BlockedCustomers({ onError: (err) => showError(err), onOpen: openCustomer });
setInterval(() => { refreshWaiting(); updateQueueBadge(); }, 30_000); // 'waiting 12 min' moves on between updates
const presence = new Presence({
  send: (frame) => feed.send(frame),
  me: () => state.me?.name,
  currentId: () => state.currentId,
  render: (text) => {
    $('#conv-presence').textContent = text;
    $('#conv-presence').hidden = !text;
  },
  changed: () => list.render(),
});
list.presenceOf = (id) => presence.badge(id);

// ---------- feedback ----------

function showError(err) {
  const text = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  $('#error-text').textContent = text;
  $('#error').hidden = false;
}

function hideError() {
  $('#error').hidden = true;
}

function toast(text, onClick) {
  const node = el('div', { class: 'toast', role: 'status', text });
  if (onClick) node.addEventListener('click', () => { onClick(); node.remove(); });
  $('#toasts').append(node);
  setTimeout(() => node.remove(), 8000);
}

function onConnState(conn, detail) {
  const node = $('#conn');
  node.dataset.state = conn;
  node.textContent = detail ? `${CONN_TEXT[conn]} (${detail})` : CONN_TEXT[conn];
  if (conn === 'unauthorized') resumeFeedOrSignOut(detail);
  if (conn === 'open') presence.viewing(); // after a reconnect too: the others forget us otherwise
}

const REVOKED = 'An admin revoked your access to this panel.';

/** The socket was refused: an expired Supabase token is renewed and the feed resumes where it was. */
async function resumeFeedOrSignOut(reason) {
  if (reason === 'revoked') return signOut(REVOKED);
  const expiring = session.expiresAt * 1000 <= Date.now() + RENEW_MARGIN_S * 1000;
  if (session.refreshToken && expiring && (await renewSession()) && state.me) {
    feed.start(); // lastSeq kept: the server replays what was missed
    return;
  }
  signOut('Your session ended: sign in again.');
}

// ---------- sign-in ----------

function showSignin(message) {
  $('#app').hidden = true;
  $('#signin').hidden = false;
  const err = $('#signin-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('#token').focus();
}

async function signIn(token, remember, supabase = null) {
  const data = await get('/admin/me', { token });
  session.save(token, remember, supabase);
  scheduleRenewal();
  await start(data.user || {});
}

// ---------- Supabase session renewal ----------

/** A new access token from the stored refresh token; true when one is stored. Never throws. */
function renewSession() {
  if (!state.renewing) {
    state.renewing = (async () => {
      await state.authConfig;
      const refreshToken = session.refreshToken;
      if (!state.supabase || !refreshToken) return false;
      try {
        const fresh = await supabaseRefresh(state.supabase, refreshToken);
        if (session.refreshToken !== refreshToken) return false; // signed out meanwhile
        session.save(fresh.access_token, session.remembered, fresh);
        scheduleRenewal();
        return true;
      } catch (err) {
        // Offline: try again soon. Refused (revoked): the session lasts until its token expires,
        // and the timer then ends it plainly instead of leaving the panel failing call by call.
        const offline = err instanceof ApiError && err.status === 0;
        scheduleRenewal(offline ? RENEW_RETRY_MS : session.expiresAt * 1000 - Date.now());
        return false;
      }
    })().finally(() => { state.renewing = null; });
  }
  return state.renewing;
}

/** Renews the Supabase session before its access token expires (nothing for admin tokens). */
function scheduleRenewal(afterMs = null) {
  clearTimeout(state.renewTimer);
  if (!session.refreshToken) return;
  const dueMs = afterMs ?? (session.expiresAt - RENEW_MARGIN_S) * 1000 - Date.now();
  state.renewTimer = setTimeout(async () => {
    if (!(await renewSession()) && session.expiresAt * 1000 <= Date.now() && state.me) {
      signOut('Your session ended: sign in again.');
    }
  }, Math.max(1000, dueMs));
}

onExpired(renewSession);

async function start(user) {
  state.me = { name: String(user.name || ''), role: String(user.role || 'viewer') };
  threadOptions.canAct = state.me.role === 'admin';
  $('#me').textContent = `${state.me.name} (${state.me.role})`;
  $('#signin').hidden = true;
  $('#app').hidden = false;
  document.body.dataset.role = state.me.role;
  $('#tab-staff').hidden = state.me.role !== 'admin';
  $('#team-box').hidden = state.me.role !== 'admin'; // colleagues' figures: for admins
  updateAlertsButton();
  feed.start();
  presence.start();
  saved.load();
  labels.loadInUse();
  loadColleagues();
  await loadList(true);
  routeFromHash();
}

function signOut(message) {
  clearTimeout(state.renewTimer);
  feed.stop();
  presence.stop();
  feed.lastSeq = 0;
  state.synced = false;
  session.clear();
  state.me = null;
  closeDetail();
  list.clearAll();
  history.replaceState(null, '', location.pathname);
  showSignin(message);
}

async function resumeSession() {
  const token = session.token;
  if (!token) return showSignin();
  try {
    const data = await get('/admin/me'); // the session's token: an expired Supabase one is renewed here (onExpired)
    scheduleRenewal();
    await start(data.user || {});
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      session.clear();
      return showSignin(err.code === 'revoked' ? REVOKED : 'Your session expired: sign in again.');
    }
    showSignin(err.message);
  }
}

async function loadAuthConfig() {
  try {
    const config = await get('/admin/config', { token: '' });
    if (config && config.supabase_url && config.supabase_anon_key) {
      state.supabase = config;
      $('#supabase-signin').hidden = false;
    }
  } catch {
    // No /admin/config or no Supabase: token sign-in only.
  }
}

// ---------- conversation list ----------

function filterParams() {
  const f = state.filters;
  const assigned = f.assigned_to === '__me__' ? state.me?.name : f.assigned_to;
  return { status: f.status, platform: f.platform, needs_human: f.needs_human, assigned_to: assigned, label: f.label,
    max_rating: f.max_rating, q: f.q };
}

async function loadList(reset) {
  if (!reset && (state.loading || !state.nextCursor)) return;
  const generation = reset ? ++state.generation : state.generation;
  state.loading = true;
  $('#list-status').textContent = 'Loading…';
  try {
    if (reset) {
      list.clearAll();
      state.nextCursor = null;
      await loadPinnedNeedsHuman(generation);
    }
    const params = { ...filterParams(), limit: PAGE, cursor: reset ? '' : state.nextCursor };
    const readAt = feed.lastSeq;
    const data = await get(`/admin/conversations${query(params)}`);
    if (generation !== state.generation) return;
    for (const c of data.conversations || []) list.upsertSnapshot(c, readAt);
    state.nextCursor = data.next_cursor || null;
    list.render();
    updateQueueBadge();
    $('#list-status').textContent = state.nextCursor ? '' : 'End of list';
  } catch (err) {
    if (generation === state.generation) {
      $('#list-status').textContent = '';
      showError(err);
    }
  } finally {
    if (generation === state.generation) state.loading = false;
  }
}

/** Needs-human conversations come first even when older than the loaded pages. */
async function loadPinnedNeedsHuman(generation) {
  if (state.filters.needs_human === 'false' || state.filters.status === 'closed') return;
  const params = { ...filterParams(), needs_human: 'true', limit: 100 };
  const readAt = feed.lastSeq;
  const data = await get(`/admin/conversations${query(params)}`);
  if (generation !== state.generation) return;
  for (const c of data.conversations || []) list.upsertSnapshot(c, readAt);
}

function updateQueueBadge() {
  const loaded = Array.from(list.items.values()).filter(needsHuman).length;
  const n = state.queueFromServer ?? loaded;
  const badge = $('#queue-badge');
  const longest = n > 0 ? minutesSince(state.oldestWaiting) : null;
  badge.textContent = longest === null ? `${n} waiting` : `${n} waiting · longest ${durationLabel(longest)}`;
  badge.classList.toggle('hot', n > 0);
}

function readFilters(event) {
  // Customers rate a conversation once it is closed: a rating filter on the open list would show nothing.
  if (event?.target?.id === 'f-rating' && $('#f-rating').value && $('#f-status').value === '') {
    $('#f-status').value = 'all';
  }
  state.filters = {
    status: $('#f-status').value,
    platform: $('#f-platform').value,
    needs_human: $('#f-needs').value,
    assigned_to: $('#f-assignee').value,
    label: $('#f-label').value,
    max_rating: $('#f-rating').value,
    q: $('#f-q').value.trim(),
  };
  sessionStorage.setItem('pentagon.admin.filters', JSON.stringify(state.filters));
  loadList(true);
}

function restoreFilters() {
  try {
    const saved = JSON.parse(sessionStorage.getItem('pentagon.admin.filters') || 'null');
    if (!saved) return;
    state.filters = { ...state.filters, ...saved };
    $('#f-status').value = state.filters.status;
    $('#f-platform').value = state.filters.platform;
    $('#f-needs').value = state.filters.needs_human;
    $('#f-assignee').value = state.filters.assigned_to;
    if (state.filters.label) $('#f-label').append(el('option', { value: state.filters.label, text: state.filters.label }));
    $('#f-label').value = state.filters.label || '';
    $('#f-rating').value = state.filters.max_rating || '';
    $('#f-q').value = state.filters.q;
  } catch {
    sessionStorage.removeItem('pentagon.admin.filters');
  }
}

// ---------- conversation view ----------

async function openConversation(id, { fromHistory = false } = {}) {
  // From a toast or a notification while another tab (statistics, staff) is showing.
  if ($('#view-conversations').hidden) showView('conversations');
  const numeric = Number(id);
  const fromList = state.currentId === null;
  state.currentId = numeric;
  list.select(numeric);
  if (!fromHistory && location.hash !== `#c/${numeric}`) {
    // Opened from the list: an entry of its own, so the browser's (or phone's) back button returns to
    // the list instead of leaving the panel. Switching conversations replaces it.
    if (fromList) {
      history.pushState(null, '', `#c/${numeric}`);
      state.pushedConversation = true;
    } else {
      history.replaceState(null, '', `#c/${numeric}`);
    }
  }
  $('#conv-empty').hidden = true;
  $('#conv-detail').hidden = false;
  $('#view-conversations').classList.add('showing-conversation'); // phones: the conversation replaces the list
  $('#thread').replaceChildren(el('p', { class: 'muted empty', text: 'Loading…' }));
  thread.begin();
  try {
    const readAt = feed.lastSeq;
    const data = await get(`/admin/conversations/${numeric}`);
    if (state.currentId !== numeric) return;
    // A frame during the request already set state.current to something newer (list.liveSince).
    noteBlocked(data.conversation);
    if (!(list.liveSince(numeric, readAt) && Number(state.current?.id) === numeric)) {
      state.current = data.conversation;
      if (matches(data.conversation, state.filters, state.me?.name)) list.upsert(data.conversation);
    }
    list.render();
    thread.load(data.messages || []);
    renderDetail();
    loadActivity(numeric);
    loadEarlier(data.conversation);
    presence.viewing();
    presence.render();
  } catch (err) {
    showError(err);
  }
}

/** A customer's latest conversation, whatever its status (from the blocked list). */
async function openCustomer(platform, userId) {
  try {
    const data = await get(`/admin/conversations${query({ platform, user_id: userId, status: 'all', limit: 1 })}`);
    const latest = (data.conversations || [])[0];
    if (latest) openConversation(latest.id);
    else showError(new Error('No conversation of this customer is left (erased).'));
  } catch (err) {
    showError(err);
  }
}

// A returning customer: their other conversations, newest first, one click away.
const EARLIER_SHOWN = 5;

async function loadEarlier(c) {
  const box = $('#conv-history');
  box.hidden = true;
  box.replaceChildren();
  try {
    const params = { platform: c.platform, user_id: c.user_id, status: 'all', limit: EARLIER_SHOWN + 1 };
    const data = await get(`/admin/conversations${query(params)}`);
    if (state.currentId !== Number(c.id)) return;
    const others = (data.conversations || []).filter((o) => Number(o.id) !== Number(c.id)).slice(0, EARLIER_SHOWN);
    if (!others.length) return;
    box.append(el('span', { text: 'Other conversations with this customer: ' }),
      ...others.map((o) => el('button', { type: 'button', class: 'link earlier', dataset: { id: o.id },
        title: `${o.status}, ${o.message_count} messages`, onclick: () => openConversation(o.id),
        text: `#${o.id} (${o.status}, ${formatShort(o.last_message_at || o.created_at)})` })));
    box.hidden = false;
  } catch {
    // Only a convenience: the conversation itself is shown all the same.
  }
}

/** Who took over, assigned or closed the open conversation, from the audit log. */
async function loadActivity(id) {
  try {
    const data = await get(`/admin/audit${query({ conversation_id: id, limit: 100 })}`);
    if (state.currentId === id) thread.setActivity(Array.isArray(data.entries) ? data.entries : []);
  } catch {
    // The thread stands without it; the next change of the conversation tries again.
  }
}

const refreshActivity = debounce(() => { if (state.currentId !== null) loadActivity(state.currentId); }, 250);

function renderDetail() {
  const c = state.current;
  if (!c) return;
  $('#conv-title').textContent = customerLabel(c);
  $('#conv-title').title = `${c.platform} id ${c.user_id}`;
  const parts = [c.platform, c.status, `priority ${c.priority ?? 3}`, c.assigned_to ? `assigned to ${c.assigned_to}` : 'unassigned'];
  if (c.escalation_reason) parts.push(`escalation: ${c.escalation_reason}`);
  if (needsHuman(c) && c.waiting_since) parts.push(`waiting since ${formatFull(c.waiting_since)}`);
  const blocked = state.blocked.get(customerKey(c)) === true;
  if (blocked) parts.push('customer blocked');
  const rating = c.metadata?.rating; // the customer's answer to "How did we do?" after a close
  if (rating && Number.isInteger(rating.score)) parts.push(`rated ${rating.score}/5 by the customer`);
  $('#conv-sub').textContent = parts.join(' · ');
  $('#conv-detail').dataset.status = c.status;
  $('#conv-detail').classList.toggle('needs-human', needsHuman(c));
  const admin = state.me?.role === 'admin';
  const show = (sel, visible) => { $(sel).hidden = !visible; $(sel).disabled = !admin; };
  show('#act-takeover', c.status === 'active');
  show('#act-handback', c.status === 'human');
  show('#act-close', c.status !== 'closed');
  show('#act-reopen', c.status === 'closed');
  show('#act-assign', c.status !== 'closed');
  show('#act-assign-to', admin && c.status !== 'closed' && state.colleagues.length > 0);
  show('#act-block', true);
  $('#act-export-customer').disabled = false; // reading: viewers too (setActionsBusy disables every action)
  $('#act-block').textContent = blocked ? 'Unblock customer' : 'Block customer';
  $('#act-assign').textContent = c.assigned_to && c.assigned_to === state.me?.name ? 'Unassign me' : 'Assign to me';
  $('#act-priority').value = String(c.priority ?? 3);
  $('#act-priority').disabled = !admin;
  labels.render(c, admin);
  const canReply = admin && c.status !== 'closed';
  $('#reply-text').disabled = !canReply;
  $('#reply-send').disabled = !canReply;
  $('#saved-pick').disabled = !canReply;
  $('#reply-draft').disabled = !canReply || $('#note-mode').checked;
  $('#note-mode').disabled = !canReply;
  const note = $('#note-mode').checked;
  $('#reply-form').classList.toggle('note', note);
  $('#reply-send').textContent = note ? 'Add note' : 'Send';
  $('#reply-text').placeholder = !admin ? 'Viewers cannot reply.'
    : c.status === 'closed' ? 'Conversation closed: reopen it to reply.'
      : note ? 'Note for the staff: the customer never sees it (Enter adds it)'
        : 'Reply as staff (Enter sends, Shift+Enter new line)';
}

/** True when the server took the action; its error is shown otherwise. */
async function conversationAction(action, body) {
  const id = state.currentId;
  if (!id) return false;
  hideError();
  setActionsBusy(true);
  try {
    const readAt = feed.lastSeq;
    const data = await post(`/admin/conversations/${id}/${action}`, body);
    applyConversation(data.conversation, readAt);
    return true;
  } catch (err) {
    showError(err);
    return false;
  } finally {
    setActionsBusy(false);
  }
}

function customerKey(c) {
  return `${c.platform}:${c.user_id}`;
}

// Conversation rows (REST and live frames) do not carry the block: the detail answer does,
// and a customer.updated frame when any admin blocks or unblocks.
function noteBlocked(c) {
  if (c && typeof c.customer_blocked === 'boolean') state.blocked.set(customerKey(c), c.customer_blocked);
}

function onCustomerFrame(frame) {
  const d = frame.data || {};
  if (typeof d.blocked !== 'boolean' || typeof d.platform !== 'string' || typeof d.user_id !== 'string') return;
  const key = customerKey(d);
  state.blocked.set(key, d.blocked);
  if (!$('#view-staff').hidden) blockedList.load();
  if (state.current && customerKey(state.current) === key) {
    renderDetail();
    refreshActivity();
  }
}

// Reversible, so no confirmation step: the activity line records who blocked or unblocked.
async function toggleBlock() {
  const c = state.current;
  if (!c) return;
  const blocked = state.blocked.get(customerKey(c)) === true;
  hideError();
  setActionsBusy(true);
  try {
    const data = await post(`/admin/conversations/${c.id}/${blocked ? 'unblock' : 'block'}`, {});
    state.blocked.set(customerKey(c), data.blocked === true);
    loadActivity(c.id);
  } catch (err) {
    showError(err);
  } finally {
    setActionsBusy(false);
  }
}

function setActionsBusy(busy) {
  $('#conv-actions').classList.toggle('busy', busy);
  for (const button of $$('#conv-actions button, #conv-actions select')) {
    if (busy) button.disabled = true;
  }
  if (!busy) renderDetail();
}

async function messageAction(action, message) {
  hideError();
  try {
    const data = await post(`/admin/messages/${message.id}/${action}`, {});
    if (data.message) thread.upsert(data.message);
    refreshConversation(message.conversation_id);
  } catch (err) {
    showError(err);
  }
}

/** The reply box: its text goes to the customer, or, with Note ticked, to the staff only. */
async function submitReplyBox() {
  const box = $('#reply-text');
  const text = box.value.trim();
  const id = state.currentId;
  if (!text || !id) return;
  hideError();
  $('#reply-send').disabled = true;
  try {
    await ($('#note-mode').checked ? addNote(id, text) : sendReply(id, text));
    box.value = '';
  } catch (err) {
    showError(err);
  } finally {
    renderDetail();
    box.focus();
  }
}

async function sendReply(id, text) {
  const data = await post(`/admin/conversations/${id}/reply`, { text });
  if (state.currentId === id) {
    // Shown at once as "sending"; the live frame with the same event_id replaces it.
    thread.upsert({
      event_id: data.event_id, conversation_id: id, sender_type: 'human', content: text,
      actor: state.me?.name, timestamp: new Date().toISOString(), _pending: true,
    });
  }
}

/** A note for the staff: recorded by tracking in the audit log, shown in the thread's activity. */
async function addNote(id, text) {
  const readAt = feed.lastSeq;
  const data = await post(`/admin/conversations/${id}/notes`, { text });
  applyConversation(data.conversation, readAt);
  if (state.currentId === id) loadActivity(id);
}

// ---------- live updates ----------

/** A conversation from a live frame, or from a REST answer to a request made at feed sequence `readAt`. */
function applyConversation(conversation, readAt = null) {
  if (!conversation) return;
  const { prev, next } = readAt === null ? list.upsert(conversation) : list.upsertSnapshot(conversation, readAt);
  // The open conversation stays open in the detail pane, but the list only shows what the filters ask for.
  if (!matches(next, state.filters, state.me?.name)) list.remove(next.id);
  if (prev && !needsHuman(prev) && needsHuman(next)) alertNeedsHuman(next);
  const me = state.me?.name;
  if (prev && me && prev.assigned_to !== me && next.assigned_to === me && !state.selfAssigned.has(Number(next.id))) {
    alertAssigned(next);
  }
  if (Number(next.id) === state.currentId) {
    state.current = next;
    renderDetail();
  }
  list.render();
  updateQueueBadge();
}

async function refreshConversation(id) {
  if (!id || state.fetching.has(id)) return;
  state.fetching.add(id);
  try {
    const readAt = feed.lastSeq;
    const data = await get(`/admin/conversations/${id}`);
    const known = list.get(id);
    const c = data.conversation;
    noteBlocked(c);
    const msgs = data.messages || [];
    const last = msgs[msgs.length - 1];
    if (last) c.last_message = { content: last.content, sender_type: last.sender_type, timestamp: last.timestamp };
    if (!known && !matches(c, state.filters, state.me?.name)) return;
    if (!known && needsHuman(c)) alertNeedsHuman(c);
    applyConversation(c, readAt);
  } catch {
    // Deleted meanwhile, or a transient error: the next frame tries again.
  } finally {
    state.fetching.delete(id);
  }
}

function onMessageCreated(frame) {
  const message = frame.data || {};
  const id = Number(frame.conversation_id ?? message.conversation_id);
  message.conversation_id = id;
  const conv = list.noteMessage(message);
  if (id === state.currentId) thread.upsert(message);
  if (conv) {
    list.render();
  } else {
    refreshConversation(id);
  }
}

function onDelivery(frame) {
  const patch = frame.data || {};
  if (Number(frame.conversation_id ?? patch.conversation_id) === state.currentId) thread.updateById(patch);
}

// A deleted user (every conversation of theirs) or one old conversation gone by the retention rule.
function onDeleted(frame) {
  const data = frame.data || {};
  for (const c of Array.from(list.items.values())) {
    if (Number(c.id) === Number(frame.conversation_id) || (c.platform === data.platform && c.user_id === data.user_id)) {
      list.remove(c.id);
      if (Number(c.id) === state.currentId) closeDetail();
    }
  }
  list.render();
}

function onFrame(frame) {
  switch (frame.type) {
    case 'hello':
      if (!state.synced && typeof frame.seq === 'number') {
        // First connection of this sign-in: resume points start here, and the list is read after it
        // so nothing committed between the two is missed.
        state.synced = true;
        feed.lastSeq = Math.max(feed.lastSeq, frame.seq);
        loadList(true);
      } else if (typeof frame.seq === 'number' && frame.seq < feed.lastSeq) {
        feed.lastSeq = frame.seq; // the server's history restarted: reload what we show
        loadList(true);
      }
      break;
    case 'resync':
      // Too far behind for a replay: start from the server's current position and reload.
      if (typeof frame.seq === 'number') feed.lastSeq = frame.seq;
      loadList(true);
      if (state.currentId) openConversation(state.currentId);
      break;
    case 'message.created': onMessageCreated(frame); break;
    case 'conversation.updated': onConversationFrame(frame); break;
    case 'delivery.updated': onDelivery(frame); break;
    case 'user.deleted':
    case 'conversation.deleted': onDeleted(frame); break;
    case 'customer.updated': onCustomerFrame(frame); break;
    case 'stats': onStats(frame.data); break;
    case 'presence': presence.heard(frame.data); break;
    case 'config.changed': onConfigChanged(frame.what); break;
    default: break; // heartbeat and future frame types
  }
}

function onConversationFrame(frame) {
  const c = frame.data || {};
  if (c.id === undefined) c.id = frame.conversation_id;
  alertLowRating(c); // whatever the filters: rated conversations are closed, out of the default list
  list.heardLive(c.id, frame.seq);
  const known = list.get(c.id);
  if (!known && matches(c, state.filters, state.me?.name) && !state.filters.q) {
    if (needsHuman(c)) alertNeedsHuman(c);
    if (!c.last_message) refreshConversation(Number(c.id));
  }
  if (known || Number(c.id) === state.currentId || (matches(c, state.filters, state.me?.name) && !state.filters.q)) {
    applyConversation(c);
  }
  if (Number(c.id) === state.currentId) refreshActivity(); // a change by anyone: its line in the thread
}

// Saved replies, taught answers, sold-out marks: changed here or by a colleague, on any replica.
// Read again where shown (saved replies always: the reply box offers them), at most once per
// CONFIG_RELOAD_MS, so a burst of changes costs one request per list.
const CONFIG_RELOAD_MS = 250;
const configReloads = new Map();

function onConfigChanged(what) {
  if (configReloads.has(what)) return;
  configReloads.set(what, setTimeout(() => {
    configReloads.delete(what);
    reloadConfig(what);
  }, CONFIG_RELOAD_MS));
}

function reloadConfig(what) {
  const knowledgeShown = !$('#view-knowledge').hidden;
  if (what === 'saved_replies') saved.load();
  else if ((what === 'menu' || what === 'menu_prices') && knowledgeShown) menuBoard.load();
  else if (what === 'closed_days' && knowledgeShown) closedDays.load();
  else if (what === 'knowledge' && knowledgeShown) knowledge.load();
  else if (what === 'knowledge' && !$('#view-stats').hidden) loadStats(); // "Answered now" may have changed
}

function onStats(data) {
  const size = queueSize(data);
  if (size !== null) state.queueFromServer = size;
  if (data && 'oldest_waiting_since' in data) state.oldestWaiting = data.oldest_waiting_since;
  updateQueueBadge();
  recordQueue(data);
  if (!$('#view-stats').hidden) renderQueue($('#chart-queue'));
}

// A customer who answers "How did we do?" with 1 or 2 is worth a call back while it is fresh.
const LOW_RATING = 2;
const LOW_RATING_FRESH_MS = 10 * 60 * 1000;

function alertLowRating(conversation) {
  const rating = conversation.metadata?.rating;
  if (!rating || !(Number(rating.score) <= LOW_RATING)) return;
  if (!(Date.now() - Date.parse(rating.rated_at) < LOW_RATING_FRESH_MS)) return; // a replayed old frame
  const key = `${conversation.id}:${rating.rated_at}`;
  if (state.lowRatings.has(key)) return;
  state.lowRatings.add(key);
  alertStaff(conversation, `A customer rated conversation #${conversation.id} ${rating.score}/5`,
    { title: `A customer rated us ${rating.score}/5`, kind: 'low-rating' });
}

/** A colleague handed this conversation to me: the same toast, sound and notification as a waiting customer. */
function alertAssigned(conversation) {
  document.body.dataset.lastAssigned = String(conversation.id);
  alertStaff(conversation, `Conversation #${conversation.id} was handed to you`,
    { title: 'A conversation was handed to you', kind: 'handed' });
}

/** Admins: the other staff names (the Staff list, revoked ones left out) for "Hand to…" and the assignee filter. */
async function loadColleagues() {
  if (state.me?.role !== 'admin') return;
  let rows = [];
  try {
    rows = (await get('/admin/staff')).staff || [];
  } catch {
    return; // the panel works without them: "Assign to me" and the filter's "Assigned to me" remain
  }
  state.colleagues = [...new Set(rows.filter((r) => !r.revoked && r.name !== state.me.name).map((r) => r.name))].sort();
  const handTo = $('#act-assign-to');
  handTo.replaceChildren(el('option', { value: '', text: 'Hand to…' }),
    ...state.colleagues.map((name) => el('option', { value: name, text: name })));
  const filter = $('#f-assignee');
  for (const option of [...filter.options].filter((o) => o.dataset.colleague)) option.remove();
  for (const name of state.colleagues) filter.append(el('option', { value: name, text: `Assigned to ${name}`, dataset: { colleague: '1' } }));
  filter.value = state.filters.assigned_to; // a filter restored from the session may name one of them
  if (state.current) renderDetail();
}

function alertNeedsHuman(conversation) {
  document.body.dataset.lastAlert = String(conversation.id);
  alertStaff(conversation, `Conversation #${conversation.id} needs a human`);
}

/** A toast that opens the conversation, a sound and a desktop notification (ids only, never text). */
function alertStaff(conversation, text, notification = {}) {
  const open = () => openConversation(Number(conversation.id));
  toast(text, open);
  beep();
  desktopNotify(conversation, open, notification);
}

function updateAlertsButton() {
  const s = alertsState();
  const button = $('#alerts-btn');
  button.textContent = s === 'granted' ? 'Alerts on' : s === 'denied' ? 'Alerts blocked' : 'Enable alerts';
  button.dataset.state = s;
}

function closeDetail() {
  if (location.hash.startsWith('#c/')) history.replaceState(null, '', location.pathname);
  state.pushedConversation = false;
  state.currentId = null;
  state.current = null;
  presence.render();
  list.select(null);
  $('#conv-detail').hidden = true;
  $('#conv-empty').hidden = false;
  $('#view-conversations').classList.remove('showing-conversation');
}

// ---------- stats and export ----------

/** From the statistics' "Customer rating": the conversations rated 1-2, to call those customers back. */
function showLowRatings() {
  $('#f-rating').value = '2';
  $('#f-status').value = 'all';
  readFilters();
  showView('conversations');
}

async function loadStats() {
  const hours = Number($('#stats-range').value) || 24;
  const until = new Date();
  const since = new Date(until.getTime() - hours * 3600_000);
  const seq = ++state.statsLoads; // the newest wins: a slow answer for the previous range is dropped
  try {
    const period = { since: since.toISOString(), until: until.toISOString() };
    const range = query(period);
    // Hours of the viewer's own clock: in Yangon a UTC hour would run from half past.
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const admin = state.me?.role === 'admin';
    const [data, used, unanswered, team] = await Promise.all([
      get(`/admin/stats/detailed${query({ ...period, tz })}`),
      get(`/admin/labels${query({ days: Math.max(1, Math.ceil(hours / 24)), limit: 20 })}`),
      get(`/admin/stats/unanswered${range}`),
      admin ? get(`/admin/stats/staff${range}`) : null,
    ]);
    if (seq === state.statsLoads) {
      renderStats(data, { onLowRatings: showLowRatings });
      renderLabelCounts($('#chart-labels'), used.labels);
      renderUnanswered($('#chart-unanswered'), unanswered.questions, (id) => openConversation(id), admin ? teach : null);
      if (team) renderTeam($('#team-table'), team.staff);
    }
  } catch (err) {
    if (seq === state.statsLoads) showError(err);
  }
}

/** "Bot's draft": what the bot answers the customer's last message, into the reply box for staff to
 *  edit and send (Burmese included). A question the bot would hand to a person gets no draft. */
async function draftReply() {
  const { text, history } = thread.lastQuestion();
  if (!text) return toast('No message of the customer to answer yet.');
  const button = $('#reply-draft');
  button.disabled = true;
  try {
    const { reply } = await post('/admin/agent/try', { text, history });
    if (reply.requires_human) toast('The bot has no answer to this one: it is yours to write.');
    else insertAtCaret($('#reply-text'), reply.text);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = $('#reply-text').disabled || $('#note-mode').checked;
  }
}

/** "Answer it" next to a question the bot could not answer: the Knowledge form, with the question in. */
function teach(question) {
  showView('knowledge');
  knowledge.answer(question);
}

async function exportFile(name) {
  hideError();
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const [base, ext] = name.split('.');
  try {
    // The list's default is open conversations; exports default to all, so say it explicitly.
    const params = { ...filterParams(), status: state.filters.status || 'open' };
    await download(`/admin/export/${name}${query(params)}`, `pentagon-${base}-${stamp}.${ext}`);
  } catch (err) {
    showError(err);
  }
}

/** Everything stored of the open conversation's customer: what a data access request asks for. */
async function exportCustomer() {
  const c = state.current;
  if (!c) return;
  hideError();
  const params = { platform: c.platform, user_id: c.user_id, status: 'all' };
  try {
    await download(`/admin/export/messages.jsonl${query(params)}`, `pentagon-customer-${c.platform}-${c.id}.jsonl`);
  } catch (err) {
    showError(err);
  }
}

// ---------- navigation ----------

const VIEWS = ['conversations', 'stats', 'saved', 'knowledge', 'staff'];

function showView(name) {
  for (const view of VIEWS) {
    $(`#view-${view}`).hidden = view !== name;
    $(`#tab-${view}`).classList.toggle('active', view === name);
    $(`#tab-${view}`).setAttribute('aria-pressed', String(view === name));
  }
  // On a phone the tabs scroll sideways: keep the chosen one wholly in sight.
  $(`#tab-${name}`).scrollIntoView({ block: 'nearest', inline: 'nearest' });
  if (name !== 'conversations') {
    if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
    if (name === 'stats') loadStats();
    else if (name === 'staff') { staff.load(); blockedList.load(); }
    else if (name === 'knowledge') { knowledge.load(); menuBoard.load(); closedDays.load(); }
    else saved.load();
  } else if (['#stats', '#saved', '#knowledge', '#staff'].includes(location.hash)) {
    history.replaceState(null, '', state.currentId ? `#c/${state.currentId}` : location.pathname);
  }
}

function routeFromHash() {
  const hash = location.hash;
  if (hash === '#stats') return showView('stats');
  if (hash === '#saved') return showView('saved');
  if (hash === '#knowledge') return showView('knowledge');
  if (hash === '#staff' && state.me?.role === 'admin') return showView('staff');
  showView('conversations');
  const match = /^#c\/(\d+)$/.exec(hash);
  if (match && Number(match[1]) !== state.currentId) openConversation(Number(match[1]), { fromHistory: true });
  else if (!match && state.currentId !== null) closeDetail(); // back from a conversation
}

// ---------- wiring ----------

function wire() {
  $('#signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('#token').value.trim();
    if (!token) return;
    $('#signin-submit').disabled = true;
    enableAlerts().then(updateAlertsButton); // the click is the gesture browsers require
    try {
      await signIn(token, $('#remember').checked);
      $('#token').value = '';
    } catch (err) {
      const refused = err.code === 'revoked' ? REVOKED : 'That token is not valid.';
      showSignin(err.status === 401 ? refused : err.message);
    } finally {
      $('#signin-submit').disabled = false;
    }
  });
  $('#sb-submit').addEventListener('click', async () => {
    $('#sb-submit').disabled = true;
    try {
      const supabase = await supabaseSignIn(state.supabase, $('#sb-email').value.trim(), $('#sb-password').value);
      await signIn(supabase.access_token, $('#remember').checked, supabase);
    } catch (err) {
      showSignin(err.message);
    } finally {
      // The form comes back on sign-out: a shared cafe computer must not keep the password in it.
      $('#sb-password').value = '';
      $('#sb-submit').disabled = false;
    }
  });
  for (const sel of ['#sb-email', '#sb-password']) {
    // Enter would submit the token form (whose token field is required), not this sign-in.
    $(sel).addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.isComposing) { event.preventDefault(); $('#sb-submit').click(); }
    });
  }
  $('#signout').addEventListener('click', () => signOut());
  $('#alerts-btn').addEventListener('click', async () => { await enableAlerts(); updateAlertsButton(); });
  $('#error-close').addEventListener('click', hideError);
  $('#tab-conversations').addEventListener('click', () => showView('conversations'));
  $('#tab-stats').addEventListener('click', () => showView('stats'));
  $('#tab-saved').addEventListener('click', () => showView('saved'));
  $('#tab-staff').addEventListener('click', () => showView('staff'));
  $('#tab-knowledge').addEventListener('click', () => showView('knowledge'));
  $('#kb-form').addEventListener('submit', (event) => { event.preventDefault(); knowledge.save(); });
  $('#closed-form').addEventListener('submit', (event) => { event.preventDefault(); closedDays.save(); });
  $('#kb-cancel').addEventListener('click', () => knowledge.resetForm());
  $('#kb-try').addEventListener('submit', (event) => { event.preventDefault(); knowledge.ask(); });
  $('#staff-form').addEventListener('submit', (event) => { event.preventDefault(); staff.revokeTyped(); });
  $('#token-form').addEventListener('submit', (event) => { event.preventDefault(); staff.issueTyped(); });
  $('#saved-form').addEventListener('submit', (event) => { event.preventDefault(); saved.save(); });
  $('#saved-cancel').addEventListener('click', () => saved.resetForm());
  $('#saved-pick').addEventListener('change', (event) => { saved.insert(event.target.value); event.target.value = ''; });
  $('#reply-draft').addEventListener('click', () => draftReply());
  $('#stats-refresh').addEventListener('click', loadStats);
  $('#stats-range').addEventListener('change', loadStats);
  window.addEventListener('resize', debounce(() => { if (!$('#view-stats').hidden) redrawCharts(); }, 200));
  for (const button of $$('.export')) button.addEventListener('click', () => exportFile(button.dataset.export));

  $('#filters').addEventListener('submit', (event) => event.preventDefault());
  for (const sel of ['#f-status', '#f-platform', '#f-needs', '#f-assignee', '#f-label', '#f-rating']) {
    $(sel).addEventListener('change', readFilters);
  }
  $('#f-q').addEventListener('input', debounce(readFilters, 300));
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadList(false);
  }, { root: $('.list-pane'), rootMargin: '200px' }).observe($('#list-sentinel'));

  $('#conv-back').addEventListener('click', () => {
    if (state.pushedConversation) history.back(); // the list's own entry; popstate closes the detail
    else closeDetail();
  });
  $('#act-takeover').addEventListener('click', () => conversationAction('takeover'));
  $('#act-handback').addEventListener('click', () => conversationAction('handback'));
  $('#act-close').addEventListener('click', () => conversationAction('close'));
  $('#act-reopen').addEventListener('click', () => conversationAction('reopen'));
  $('#act-block').addEventListener('click', toggleBlock);
  $('#act-export-customer').addEventListener('click', exportCustomer);
  $('#act-assign').addEventListener('click', () => {
    const mine = state.current?.assigned_to && state.current.assigned_to === state.me?.name;
    if (!mine && state.currentId) {
      const id = state.currentId;
      state.selfAssigned.add(id);
      setTimeout(() => state.selfAssigned.delete(id), 30_000);
    }
    conversationAction('assign', { assigned_to: mine ? null : state.me?.name });
  });
  $('#act-assign-to').addEventListener('change', (event) => {
    const name = event.target.value;
    event.target.value = '';
    if (name) conversationAction('assign', { assigned_to: name });
  });
  $('#label-add').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      labels.submit();
    }
  });
  $('#act-priority').addEventListener('change', () => conversationAction('priority', { priority: Number($('#act-priority').value) }));

  $('#reply-form').addEventListener('submit', (event) => { event.preventDefault(); submitReplyBox(); });
  // A note is not an answer: neither colleagues nor the customer are told someone is typing.
  $('#reply-text').addEventListener('input', () => { if (!$('#note-mode').checked) presence.typing(); });
  $('#note-mode').addEventListener('change', () => { renderDetail(); $('#reply-text').focus(); });
  $('#reply-text').addEventListener('keydown', (event) => {
    // isComposing: Enter that confirms a Burmese/IME composition must not send.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitReplyBox();
    }
  });
  // popstate: back/forward, also to entries we pushed; hashchange: a hash typed or followed. One change may
  // fire both: routeFromHash does nothing the second time.
  window.addEventListener('popstate', () => { if (state.me) routeFromHash(); });
  window.addEventListener('hashchange', () => { if (state.me) routeFromHash(); });
}

wire();
registerWorker((id) => { if (state.me) openConversation(id); });
restoreFilters();
state.authConfig = loadAuthConfig();
resumeSession();
