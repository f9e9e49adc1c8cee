// The admin spend report (GET /api/spend): totals for the last 30 days, per model. Anyone else gets 403, explained.
import { formatUsd } from './format.js';

export async function loadSpendReport(api, panel, notice) {
  panel.textContent = 'Loading…';
  try {
    const { body } = await api.send('GET', '/api/spend?by=model');
    panel.replaceChildren(summary(body), table(body));
  } catch (error) {
    const explanation = notice.show(error);
    panel.textContent = explanation.heading;
  }
}

function summary(report) {
  const p = document.createElement('p');
  const t = report.total;
  p.textContent = `${report.from} to ${report.to}: ${t.calls} model calls, ${formatUsd(t.costUsd)}; ` +
    `${t.cacheHits} cache hits saved ${formatUsd(t.savedUsd)}.` +
    (report.rolledUpAt ? ` Rolled up ${new Date(report.rolledUpAt).toLocaleString()}.` : ' Not rolled up yet (hourly).');
  return p;
}

function table(report) {
  const table = document.createElement('table');
  const caption = table.createCaption();
  caption.textContent = 'Spend per model';
  const head = table.createTHead().insertRow();
  for (const title of ['Model', 'Calls', 'Cost', 'Saved']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    head.append(th);
  }
  const body = table.createTBody();
  for (const group of report.groups) {
    const row = body.insertRow();
    for (const value of [group.key, group.total.calls, formatUsd(group.total.costUsd), formatUsd(group.total.savedUsd)]) {
      row.insertCell().textContent = String(value);
    }
  }
  if (report.groups.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 4;
    cell.textContent = 'No spend in this range yet.';
  }
  return table;
}
