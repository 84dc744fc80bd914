// The panel's service worker: only for notifications. Android's Chrome refuses `new Notification()`
// in a page; a notification must come from a service worker registration, and its click lands here.
// No fetch handler on purpose: nothing is cached, so staff never act on a stale panel or stale data.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = Number((event.notification.data || {}).conversationId);
  if (!Number.isSafeInteger(id) || id <= 0) return;
  event.waitUntil(openConversation(id));
});

async function openConversation(id) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const panel = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (panel) {
    panel.postMessage({ type: 'open-conversation', id });
    await panel.focus().catch(() => {}); // the browser decides whether a click may raise a window
    return;
  }
  await self.clients.openWindow(`/#c/${id}`);
}
