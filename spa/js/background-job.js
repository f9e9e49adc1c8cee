// One turn as a background job: POST /api/chat answers 200 at once from the cache, or 202 with the job's status URL,
// which this follows (honouring Retry-After) until the job has Succeeded or Failed. A dropped connection while
// following is retried with back-off: the job runs on the server whatever happens to this page.
import { NetworkError, parseRetryAfter } from './api.js';

const MaxConnectionFailures = 8;

/**
 * @param {import('./api.js').Api} api
 * @param {object} body the /api/chat request
 * @param {{onStatus: (status: string, job: object) => void, onConnectionLost: (failures: number) => void}} events
 * @returns {Promise<{job: object, cache: 'hit'|'collapsed'|null}>}
 */
export async function runBackgroundJob(api, body, events) {
  const submitted = await api.send('POST', '/api/chat', body);
  if (submitted.status === 200) {
    return { job: submitted.body, cache: cacheOf(submitted.headers) };
  }
  events.onStatus(submitted.body.status, submitted.body);
  return follow(api, submitted.body.statusUrl, parseRetryAfter(submitted.headers.get('Retry-After')) ?? 1, events);
}

async function follow(api, statusUrl, firstDelay, events) {
  let delay = firstDelay;
  let shown = 'Queued';
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
    const job = answer.body;
    const status = job.status === 'Queued' && job.retryAt ? 'Waiting to retry' : job.status;
    if (status !== shown) {
      shown = status;
      events.onStatus(status, job);
    }
    if (job.status === 'Succeeded' || job.status === 'Failed') {
      return { job, cache: cacheOf(answer.headers) };
    }
    delay = parseRetryAfter(answer.headers.get('Retry-After')) ?? 1;
  }
}

/** RFC 9211 Cache-Status: "ChatBackend; hit; ttl=86395", or "…; fwd=miss; collapsed" for a shared model call. */
export function cacheOf(headers) {
  const status = headers.get('Cache-Status') ?? '';
  if (/;\s*hit\b/.test(status)) return 'hit';
  if (/;\s*collapsed\b/.test(status)) return 'collapsed';
  return null;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
