// What is left of the caller's tightest budget, from the x-budget-* headers both doors send with an answer (after its
// reservation, or once it is settled) and with a budget refusal. An answer without them (no budget configured, or an
// instance that has not seen the caller's counters yet) leaves the last known value in place.
import { formatClock, formatTime, formatUsd } from './format.js';

const Day = 24 * 60 * 60 * 1000;

/**
 * @param {Headers} headers
 * @param {HTMLElement} output "Budget: $0.0048 of $0.005 left today (resets 00:00)"
 */
export function showBudget(headers, output, now = new Date()) {
  const remaining = headers.get('x-budget-remaining-usd');
  const limit = headers.get('x-budget-limit-usd');
  if (remaining === null || limit === null) return;
  const name = headers.get('x-budget-name') ?? '';
  const reset = Date.parse(headers.get('x-budget-reset') ?? '');
  const whose = name.startsWith('global') ? 'App budget' : 'Budget';
  const period = name.endsWith('Monthly') ? 'this month' : 'today';
  // A daily budget resets within the day: its time says it (often tomorrow's 00:00); a monthly one needs the date.
  const resets = Number.isNaN(reset) ? ''
    : ` (resets ${reset - now.getTime() <= Day ? formatClock(new Date(reset)) : formatTime(new Date(reset), now)})`;
  output.textContent = `${whose}: ${formatUsd(remaining)} of ${formatUsd(limit)} left ${period}${resets}`;
  output.hidden = false;
}
