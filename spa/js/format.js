// Amounts and times as the page shows them.

/** "$0.000042", "$0.005", "$5.00": enough digits for what one answer costs. */
export function formatUsd(usd) {
  if (!usd) return '$0.00';
  return `$${Number(usd).toFixed(6).replace(/0{1,4}$/, '')}`;
}

/** "17:05" (24-hour, in the browser's time zone). */
export function formatClock(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** "17:05" today, "Mar 3 17:05" on another day. */
export function formatTime(date, now = new Date()) {
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay ? formatClock(date) : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${formatClock(date)}`;
}

/** "2 h 5 min", "3 min 20 s", "12 s". */
export function formatWait(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}
