// One turn as a background job: POST /api/chat answers 200 at once from the cache, or 202 with the job's status URL and
// stream URL. The stream (EventSource) shows the job's status changes and its text as the worker writes it; a dropped
// connection is resumed by the browser itself (Last-Event-ID: no gap, no repeat). A stream the backend refuses (an
// expired token, too many open streams) is reopened from a fresh streamUrl, and after repeated refusals the page polls
// the status URL instead (honouring Retry-After). The job runs on the server whatever happens to this page.
import { NetworkError, parseRetryAfter } from './api.js';

const MaxConnectionFailures = 8;
const MaxStreamOpenings = 3;

/**
 * @typedef {object} JobEvents
 * @property {(status: string, job: object) => void} onStatus
 * @property {(failures: number) => void} onConnectionLost
 * @property {(text: string) => void} onDelta a piece of the answer, as the model wrote it
 * @property {() => void} onRestart a retried model call writes the answer anew: forget the text shown so far
 * @property {(headers: Headers) => void} onHeaders each answer's response headers: the submit's, every poll's (rate
 *   limits, the budget left)
 */

/**
 * @param {import('./api.js').Api} api
 * @param {object} body the /api/chat request
 * @param {JobEvents} events
 * @returns {Promise<{job: object, cache: 'hit'|'collapsed'|null, headers: Headers}>} the job as last read, and that
 *   answer's headers (x-route, the budget left once the job was settled)
 */
export async function runBackgroundJob(api, body, events) {
  const submitted = await api.send('POST', '/api/chat', body);
  events.onHeaders(submitted.headers);
  if (submitted.status === 200) {
    return { job: submitted.body, cache: cacheOf(submitted.headers), headers: submitted.headers };
  }
  events.onStatus(submitted.body.status, submitted.body);
  const { statusUrl } = submitted.body;
  let { streamUrl } = submitted.body;
  let lastEventId = null;
  for (let opening = 1; streamUrl && typeof EventSource === 'function' && opening <= MaxStreamOpenings; opening++) {
    const stream = await followStream(api.url(withLastEventId(streamUrl, lastEventId)), events);
    lastEventId = stream.lastEventId ?? lastEventId;
    // Finished or not, the status URL has the truth with its headers (Cache-Status: a worker may have shared an
    // identical job's answer), and an unfinished job's view names a fresh streamUrl.
    const polled = await follow(api, statusUrl, 0, events, { once: true });
    if (polled.job.status === 'Succeeded' || polled.job.status === 'Failed') return polled;
    streamUrl = polled.job.streamUrl;
  }
  return follow(api, statusUrl, parseRetryAfter(submitted.headers.get('Retry-After')) ?? 1, events);
}

/**
 * One EventSource on the job's stream, until `done`/`failed` or until the browser gives up on it (a refusal such as 401
 * or 429 closes an EventSource; a network drop does not: the browser reconnects by itself, sending Last-Event-ID).
 * @returns {Promise<{finished: boolean, lastEventId: string|null}>}
 */
function followStream(url, events) {
  return new Promise(resolve => {
    const source = new EventSource(url);
    let lastEventId = null;
    let failures = 0;
    const end = finished => {
      source.close();
      resolve({ finished, lastEventId });
    };
    source.addEventListener('status', event => {
      failures = 0;
      const job = JSON.parse(event.data);
      events.onStatus(statusOf(job), job);
    });
    source.addEventListener('delta', event => {
      failures = 0;
      lastEventId = event.lastEventId || lastEventId;
      events.onDelta(JSON.parse(event.data).text);
    });
    source.addEventListener('restart', () => events.onRestart());
    source.addEventListener('done', () => end(true));
    source.addEventListener('failed', () => end(true));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED || ++failures > MaxConnectionFailures) {
        end(false);
        return;
      }
      events.onConnectionLost(failures);
    });
  });
}

/** The stream URL for a new EventSource that resumes after that delta (a new EventSource cannot send Last-Event-ID). */
function withLastEventId(streamUrl, lastEventId) {
  if (!lastEventId) return streamUrl;
  return `${streamUrl}${streamUrl.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}`;
}

/**
 * Polls the status URL until the job has finished (with `once`, until the first answer), retrying a dropped connection
 * with back-off.
 */
async function follow(api, statusUrl, firstDelay, events, { once = false } = {}) {
  let delay = firstDelay;
  let shown = null;
  let failures = 0;
  for (;;) {
    await sleep(delay * 1000);
    let answer;
    try {
      answer = await api.send('GET', statusUrl);
    } catch (error) {
      if (!(error instanceof NetworkError) || ++failures > MaxConnectionFailures) throw error;
      events.onConnectionLost(failures);
      delay = Math.min(8, 2 ** (failures - 1));
      continue;
    }
    failures = 0;
    events.onHeaders(answer.headers);
    const job = answer.body;
    const status = statusOf(job);
    if (status !== shown) {
      shown = status;
      events.onStatus(status, job);
    }
    if (once || job.status === 'Succeeded' || job.status === 'Failed') {
      return { job, cache: cacheOf(answer.headers), headers: answer.headers };
    }
    delay = parseRetryAfter(answer.headers.get('Retry-After')) ?? 1;
  }
}

const statusOf = job => (job.status === 'Queued' && job.retryAt ? 'Waiting to retry' : job.status);

/** RFC 9211 Cache-Status: "ChatBackend; hit; ttl=86395", or "…; fwd=miss; collapsed" for a shared model call. */
export function cacheOf(headers) {
  const status = headers.get('Cache-Status') ?? '';
  if (/;\s*hit\b/.test(status)) return 'hit';
  if (/;\s*collapsed\b/.test(status)) return 'collapsed';
  return null;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
