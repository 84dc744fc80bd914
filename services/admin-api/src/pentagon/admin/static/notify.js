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

/** Notification text carries ids only: message content stays in the panel. */
export function desktopNotify(conversation, onClick) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const note = new Notification('A customer needs a human', {
      body: `Conversation #${conversation.id} (${conversation.platform})`,
      tag: `pentagon-needs-human-${conversation.id}`,
    });
    note.addEventListener('click', () => {
      window.focus();
      onClick();
      note.close();
    });
  } catch {
    // Some platforms only allow notifications from a service worker.
  }
}
