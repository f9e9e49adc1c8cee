// The demo's wiring: the settings, the composer and the transcript, which door each turn goes through, and whether it
// continues a conversation saved on the server or a chat kept in this page only.
import { Api, ApiProblem, StreamCut } from './api.js';
import { Notice } from './notice.js';
import { Transcript } from './transcript.js';
import { formatUsd } from './format.js';
import { runBackgroundJob } from './background-job.js';
import { loadSpendReport } from './spend.js';
import { showRateLimits } from './rate-limits.js';
import { showBudget } from './budget.js';
import { ConversationsPanel, titleOf } from './conversations.js';

const $ = id => document.getElementById(id);

const config = await loadConfig();
$('caller-field').hidden = !config.callerField;
// http://localhost:7071/?caller=alice opens the demo as alice (local development only; Azure's sign-in sets the caller).
if (config.callerField) $('caller').value = new URLSearchParams(location.search).get('caller') ?? '';
const api = new Api(config.apiBase, () => (config.callerField ? $('caller').value.trim() : ''));
const notice = new Notice($('notice'));
const transcript = new Transcript($('transcript'), $('empty'));
const totals = { answers: 0, costUsd: 0, hits: 0, savedUsd: 0 };
/** A chat kept in this page only sends its whole history each turn; a saved conversation's history is the backend's. */
let history = [];
/** The saved conversation this page continues, or null for a chat kept in this page only. */
let current = null;
let busy = false;
const conversations = new ConversationsPanel(api,
  { list: $('conversations'), status: $('conversations-status'), more: $('more-conversations'), dialog: $('confirm-delete') },
  { onOpen: openConversation, onDelete: deleteConversation });

// A bug in this page shows up as a notice, never as a blank page.
window.addEventListener('error', event => notice.show(event.error ?? new Error(event.message)));
window.addEventListener('unhandledrejection', event => notice.show(event.reason));

$('composer').addEventListener('submit', event => {
  event.preventDefault();
  send();
});
$('message').addEventListener('keydown', event => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
$('new-chat').addEventListener('click', () => {
  startChat(null);
  $('message').focus();
});
$('new-conversation').addEventListener('click', newConversation);
// Another caller (local development) has other conversations.
$('caller').addEventListener('change', () => conversations.refresh());
// Following an in-page link does not move keyboard focus in every browser; the skip link must.
document.querySelector('.skip').addEventListener('click', event => {
  event.preventDefault();
  $('message').focus();
});
$('load-spend').addEventListener('click', () => loadSpendReport(api, $('spend'), notice));
showCurrent();
await conversations.refresh();
document.body.dataset.ready = 'true';

async function send() {
  if (busy) return;
  const text = $('message').value;
  setBusy(true);
  notice.hide();
  markFields([]);
  transcript.add('user', text);
  const answer = transcript.add('assistant');
  try {
    const result = document.querySelector('input[name=mode]:checked').value === 'stream'
      ? await askStreaming(text, answer)
      : await askBackgroundJob(text, answer);
    if (result) {
      if (!current) history.push({ role: 'user', content: text }, { role: 'assistant', content: result.content });
      $('message').value = '';
    }
    // The turn is in the conversation's history now; its title and time in the list follow.
    if (current) await refreshConversations();
  } catch (error) {
    const explanation = notice.show(error);
    if (error instanceof StreamCut) {
      answer.setStatus('Cut off: the answer is incomplete');
      answer.item.classList.add('failed');
    } else {
      answer.setStatus('Not answered');
      answer.fail(explanation.heading, '');
    }
    markFields(explanation.fields);
    if (error instanceof ApiProblem) showLimits(error.headers);
    if (current) await refreshConversations(); // a failed turn appends nothing, but its conversation may be gone
  } finally {
    setBusy(false);
  }
}

/** The interactive door: the text appears as the model writes it. */
async function askStreaming(text, answer) {
  answer.setStatus('Streaming…');
  // A saved conversation's turn is the new message and the conversation's id (an extra field the SDK passes on).
  const request = current
    ? { messages: [{ role: 'user', content: text }], conversation_id: current.id }
    : { messages: [...history, { role: 'user', content: text }] };
  const maxTokens = maxTokensSetting();
  if (maxTokens !== undefined) request.max_tokens = maxTokens;
  if ($('deterministic').checked) request.temperature = 0;

  const { streamChat } = await loadStreamingChat();
  const { content, model, usage, cache, headers } = await streamChat(api, request, piece => answer.appendText(piece));
  showLimits(headers);
  answer.setStatus(cache ? 'Streamed from the cache' : 'Streamed');
  showAnswer(answer, {
    content,
    // The model the backend called, as its routing chose it (x-model), and the route it followed (x-route).
    model: headers.get('x-model') || model,
    usage: usage ? { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens } : null,
    costUsd: usage?.cost_usd ?? 0,
  }, cache, headers.get('x-route'));
  return { content };
}

/**
 * The openai package (some 240 modules) loads on the first streamed question, not with the page, so the page is up at
 * once, and stays usable in background-job mode if the package is missing.
 */
async function loadStreamingChat() {
  try {
    return await import('./streaming-chat.js');
  } catch (error) {
    throw new Error('The openai package did not load, so streamed chat is unavailable (the Functions.Local build copies it ' +
      `to spa/vendor/openai). Background jobs still work. ${error.message}`);
  }
}

/** The background door: the job's status changes and its text as the worker writes it (the job's stream). */
async function askBackgroundJob(text, answer) {
  const body = current
    ? { conversationId: current.id, messages: [{ role: 'user', content: text }] }
    : { messages: [...history, { role: 'user', content: text }] };
  const maxTokens = maxTokensSetting();
  if (maxTokens !== undefined) body.maxTokens = maxTokens;
  if ($('deterministic').checked) body.temperature = 0;

  const statuses = [];
  const showStatus = status => {
    if (statuses.at(-1) !== status) statuses.push(status);
    answer.setStatus(statuses.join(' → '));
  };
  answer.setStatus('Sending…');
  const { job, cache, headers } = await runBackgroundJob(api, body, {
    onStatus: showStatus,
    onConnectionLost: failures => answer.setStatus(`${statuses.join(' → ')} · connection lost, reconnecting (attempt ${failures})…`),
    onDelta: piece => answer.appendText(piece),
    onRestart: () => answer.setText(''),
    onHeaders: showLimits,
  });
  showStatus(job.status);
  if (job.status === 'Failed') {
    answer.fail('The model did not answer.', `${job.error?.message ?? ''} (${job.error?.code ?? 'unknown'})`);
    return null;
  }
  // The stream showed the text as it was written; the finished job is the truth (it may have been answered from the cache).
  if (answer.text.textContent !== job.result.content) answer.setText(job.result.content);
  // The result's model is the one that answered; the route is the job's (its view names it, and so does x-route).
  showAnswer(answer, job.result, cache, headers?.get('x-route') ?? job.route?.name ?? null);
  return job.result;
}

/** What the box says, as the backend should validate it: a number when it is one, else the text as typed. */
function maxTokensSetting() {
  const value = $('max-tokens').value.trim();
  if (!value) return undefined;
  return Number.isFinite(Number(value)) ? Number(value) : value;
}

/** The badges under an answer (which model and route served it, its tokens and cost), and the session's totals. */
function showAnswer(answer, { model, usage, costUsd }, cache, route) {
  const fromCache = cache !== null;
  const cost = fromCache ? `cost $0.00 (saved ${formatUsd(costUsd)})` : `cost ${formatUsd(costUsd)}`;
  const tokens = usage ? `${usage.inputTokens} in / ${usage.outputTokens} out tokens` : 'tokens not reported';
  const served = route ? [`model ${model}`, `route ${route}`] : [`model ${model}`];
  answer.setMeta([...served, tokens, cost], { cached: fromCache });
  totals.answers += 1;
  if (fromCache) {
    totals.hits += 1;
    totals.savedUsd += costUsd;
  } else {
    totals.costUsd += costUsd;
  }
  $('total-answers').textContent = String(totals.answers);
  $('total-cost').textContent = formatUsd(totals.costUsd);
  $('total-hits').textContent = String(totals.hits);
  $('total-saved').textContent = formatUsd(totals.savedUsd);
}

/** The caller's rate limits and budget as the last answer's headers left them (the last known, when it has none). */
function showLimits(headers) {
  if (!headers) return;
  showRateLimits(headers, { requests: $('rate-requests'), tokens: $('rate-tokens') });
  showBudget(headers, $('budget'));
}

/** Continues `conversation` (a saved one), or starts a chat kept in this page only (null), with an empty transcript. */
function startChat(conversation) {
  current = conversation ? { id: conversation.id, title: conversation.title ?? null } : null;
  history = [];
  transcript.clear();
  notice.hide();
  conversations.select(current?.id ?? null);
  showCurrent();
}

/** Says above the transcript where this chat is kept. */
function showCurrent() {
  $('conversation-status').textContent = current
    ? `Saved conversation: ${titleOf(current)}`
    : 'This chat is kept in this page only. Start a saved conversation to keep it on the server.';
}

async function newConversation() {
  if (busy) return;
  setBusy(true);
  try {
    startChat(await conversations.create());
  } catch (error) {
    notice.show(error);
  } finally {
    setBusy(false);
  }
  $('message').focus();
}

/** Shows a saved conversation's messages (as text, like every answer) and continues it from the message box. */
async function openConversation(conversation) {
  if (busy) return;
  setBusy(true); // the transcript is aria-busy meanwhile: a screen reader hears the history once, not message by message
  try {
    const { conversation: opened, messages } = await conversations.read(conversation.id);
    startChat(opened);
    for (const message of messages) transcript.add(message.role, message.content);
  } catch (error) {
    notice.show(error);
    await conversations.refresh(); // it may have been deleted elsewhere
  } finally {
    setBusy(false);
  }
  $('message').focus();
}

async function deleteConversation(conversation, opener) {
  if (busy || !(await conversations.confirmDelete(conversation))) return;
  setBusy(true);
  try {
    await conversations.remove(conversation.id);
    if (current?.id === conversation.id) startChat(null);
  } catch (error) {
    notice.show(error);
  } finally {
    setBusy(false);
  }
  // The button that opened the dialog is gone with its conversation (unless the delete failed).
  (opener.isConnected ? opener : conversations.firstButton() ?? $('new-conversation')).focus();
}

/** The list as the backend has it now, and the current conversation's title (the first turn names it). */
async function refreshConversations() {
  await conversations.refresh();
  const listed = current && conversations.find(current.id);
  if (listed) {
    current.title = listed.title ?? null;
    showCurrent();
  }
}

/** Marks the inputs the backend's validation named (maxTokens, messages[0].content, …). */
function markFields(fields) {
  const inputs = { maxTokens: $('max-tokens'), max_tokens: $('max-tokens'), messages: $('message') };
  for (const input of Object.values(inputs)) input.removeAttribute('aria-invalid');
  for (const { name } of fields) {
    const input = inputs[name.split(/[.[]/)[0]];
    input?.setAttribute('aria-invalid', 'true');
  }
}

function setBusy(on) {
  busy = on;
  $('send').disabled = on;
  $('new-conversation').disabled = on;
  conversations.setBusy(on);
  $('transcript').setAttribute('aria-busy', String(on));
}

async function loadConfig() {
  try {
    const response = await fetch('config.json', { cache: 'no-cache' });
    if (response.ok) return await response.json();
  } catch {
    // Served without a config: same origin, no development caller.
  }
  return { apiBase: '', callerField: false };
}
