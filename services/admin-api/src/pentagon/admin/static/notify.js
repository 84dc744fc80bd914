// Alerts for "a conversation needs a human": desktop notification + a short beep.
// Browsers only allow both after a user gesture, hence enable() on a click.

let audio = null;

export function alertsState() {
  if (!('Notification' in window)) return 'unsupported';
  return Notification.permission; // default | granted | denied
}

export async function enableAlerts() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') await audio.resume();
  } catch {
    audio = null; // no sound on this browser: notifications still work
  }
  if ('Notification' in window && Notification.permission === 'default') {
    try {
      await Notification.requestPermission();
    } catch {
      // old Safari takes a callback: nothing to do
    }
  }
  return alertsState();
}

export function beep() {
  if (!audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = 'sine';
  osc.frequency.setValueAtTime(880, now);
  osc.frequency.setValueAtTime(660, now + 0.15);
  gain.gain.setValueAtTime(0.0001, now);
  gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
  osc.connect(gain).connect(audio.destination);
  osc.start(now);
  osc.stop(now + 0.4);
}

/**
 * Registers /sw.js, which shows notifications where pages may not (Android) and routes their clicks:
 * `onOpen(id)` runs when a notification of conversation `id` is clicked. Never throws.
 */
export async function registerWorker(onOpen) {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (event) => {
    const { type, id } = event.data || {};
    if (type === 'open-conversation' && Number.isSafeInteger(id)) onOpen(id);
  });
  try {
    await navigator.serviceWorker.register('/sw.js');
  } catch {
    // No worker (an insecure origin, a browser setting): desktop notifications still work.
  }
}

/** Notification text carries ids only: message content stays in the panel. */
export function desktopNotify(conversation, onClick, { title = 'A customer needs a human', kind = 'needs-human' } = {}) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const options = {
    body: `Conversation #${conversation.id} (${conversation.platform})`,
    tag: `pentagon-${kind}-${conversation.id}`,
  };
  try {
    const note = new Notification(title, options);
    note.addEventListener('click', () => {
      window.focus();
      onClick();
      note.close();
    });
  } catch {
    // Android: "Illegal constructor, use ServiceWorkerRegistration.showNotification()".
    workerNotify(title, { ...options, data: { conversationId: Number(conversation.id) }, vibrate: [120, 60, 120] });
  }
}

async function workerNotify(title, options) {
  try {
    const registration = await navigator.serviceWorker?.getRegistration('/');
    await registration?.showNotification(title, options);
  } catch {
    // Permission withdrawn meanwhile: the toast and the sound still alert the staff.
  }
}
