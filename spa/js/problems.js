// Turns what went wrong into words a person can act on: every problem+json the API answers, a request that never
// arrived, and a bug in this page. Each explanation says what happened, whether anything was charged, and what to do.
import { ApiProblem, NetworkError, StreamCut } from './api.js';
import { formatTime } from './format.js';

/**
 * @returns {{heading: string, detail: string, fields: {name: string, message: string}[], retryAfterSeconds: number|null}}
 */
export function explain(error, now = new Date()) {
  const result = (heading, detail, extra = {}) => ({ heading, detail, fields: [], retryAfterSeconds: null, ...extra });
  if (error instanceof NetworkError) {
    return result('Cannot reach the backend',
      'The request did not get through: the network dropped or the server is down. Check the connection and try again.');
  }
  if (error instanceof StreamCut) {
    return result('The answer was cut off',
      'The connection dropped while the answer was streaming; the part that arrived is shown, and what the model had ' +
      'written is charged. Send again for a whole answer.');
  }
  if (!(error instanceof ApiProblem)) {
    return result('Something went wrong in this page', error?.message ?? String(error));
  }

  const { status, problem, retryAfterSeconds } = error;
  const wait = { retryAfterSeconds };
  switch (status) {
    case 400:
      if (problem.errors) {
        const fields = Object.entries(problem.errors)
          .flatMap(([name, messages]) => messages.map(message => ({ name, message })));
        return result('The request needs fixing', 'Nothing was sent to the model. Fix these and send again:', { fields });
      }
      return result(problem.title ?? 'The request is invalid', problem.detail ?? '');
    case 401:
      return result('Your session has expired',
        'The backend no longer knows who you are. Sign in again, then send your message again: this conversation stays here.');
    case 403:
      return result(problem.title ?? 'Not allowed', problem.detail ?? 'Your account may not do this.');
    case 404:
      return result(problem.title ?? 'Not found', problem.detail ?? 'It may have been deleted.');
    case 409:
      // A saved conversation takes one turn at a time, and holds at most Conversations__MaxMessages messages.
      if (problem.code === 'turn_in_progress') {
        return result('An answer is still being written', 'This conversation takes one turn at a time. Wait for it, then send again.');
      }
      if (problem.code === 'conversation_full') {
        return result('This conversation is full', `${problem.detail ?? ''} Start a new conversation to go on.`.trim());
      }
      return result(problem.title ?? 'Conflict', problem.detail ?? '');
    case 413: {
      const limit = problem.maxBytes ? ` The backend takes at most ${formatBytes(problem.maxBytes)} in one request.`
        : problem.detail ? ` ${problem.detail}` : '';
      return result('Your message is too long', `Shorten it and send again.${limit} Nothing was sent to the model.`);
    }
    case 415:
      return result('The page sent something the backend cannot read', problem.detail ?? '');
    case 422:
      return result(problem.title ?? 'The request cannot be processed', problem.detail ?? '');
    case 429:
      if (problem.code === 'budget_exceeded') {
        const resets = problem.resetsAt ? new Date(problem.resetsAt) : null;
        const when = resets ? ` It resets at ${formatTime(resets, now)}.` : '';
        // /api/chat names the budget and its reset; the OpenAI-compatible door says the same in its message.
        const what = problem.budget
          ? `This request could cost more than the ${describeBudget(problem.budget)} has left${problem.window ? ` for ${problem.window}` : ''}. ` +
            `Nothing was queued or charged.${when}`
          : problem.detail ?? 'This request could cost more than the budget has left. Nothing was charged.';
        return result('Budget reached', `${what} A smaller "Max tokens" may still fit.`, wait);
      }
      if (problem.code === 'rate_limited') return explainRateLimit(problem, wait);
      return result('Too many requests',
        `${problem.detail ?? 'You are sending requests faster than your limit allows.'} Nothing was queued or charged.`, wait);
    case 503:
      return result('The service is briefly unavailable',
        `${problem.detail ?? 'The backend could not take the request.'} Nothing was queued or charged.`, wait);
    default:
      return result(problem.title ?? `The backend answered ${status}`, problem.detail ?? '', wait);
  }
}

/**
 * The caller's own rate limit (code rate_limited). /api/chat names the limit and its quota; the OpenAI-compatible door
 * says the same in its message. Without a wait the request can never fit (more tokens than a whole minute's quota).
 */
function explainRateLimit(problem, wait) {
  const heading = 'Rate limit reached';
  if (wait.retryAfterSeconds == null) {
    return { heading, detail: problem.detail ?? 'This request is larger than your limit allows.', fields: [], retryAfterSeconds: null };
  }
  const what = problem.limit === 'tpm' ? 'tokens' : 'requests';
  const detail = problem.quota
    ? `You may send ${problem.quota} ${what} per minute, and this minute's are used up. Send again when the countdown ends. ` +
      'Nothing was queued or charged.'
    : `${problem.detail ?? 'You are sending requests faster than your limit allows.'} Send again when the countdown ends.`;
  return { heading, detail, fields: [], ...wait };
}

function describeBudget(name) {
  const names = {
    perCallerDaily: 'daily budget for your account',
    perCallerMonthly: 'monthly budget for your account',
    globalDaily: 'daily budget of this app',
    globalMonthly: 'monthly budget of this app',
  };
  return names[name] ?? 'budget';
}

function formatBytes(bytes) {
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`;
}
