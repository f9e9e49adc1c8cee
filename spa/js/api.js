// Talks to the backend's /api routes with fetch. Every non-2xx answer is RFC 9457 problem+json; it becomes an
// ApiProblem the page can explain. A request that never got an answer becomes a NetworkError.

export class ApiProblem extends Error {
  constructor(status, problem, headers) {
    super(problem?.title ?? `HTTP ${status}`);
    this.name = 'ApiProblem';
    this.status = status;
    this.problem = problem ?? {};
    this.headers = headers ?? null;
    this.retryAfterSeconds = parseRetryAfter(headers?.get('Retry-After'));
  }
}

export class NetworkError extends Error {
  constructor(cause) {
    super('The request did not reach the backend.');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

/** A streamed answer that broke off after it had begun: what arrived, and why it stopped. */
export class StreamCut extends Error {
  constructor(received, cause) {
    super('The answer was cut off while it streamed.');
    this.name = 'StreamCut';
    this.received = received;
    this.cause = cause;
  }
}

/** Retry-After in seconds, from either of its forms (delta-seconds or an HTTP date); null when absent or unreadable. */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

export class Api {
  /**
   * @param {string} apiBase where /api lives: '' for this page's own origin, or the Function App's origin.
   * @param {() => string} caller the caller id to send in development ('' sends none).
   */
  constructor(apiBase, caller) {
    this.base = apiBase ? new URL(apiBase, location.href) : new URL(location.origin);
    this.caller = caller;
  }

  url(path) {
    return new URL(path, this.base).toString();
  }

  /** Who is asking, in development: the header the local host trusts there (Azure's sign-in sets it in production). */
  callerHeaders() {
    const caller = this.caller();
    return caller ? { 'X-MS-CLIENT-PRINCIPAL-ID': caller } : {};
  }

  headers(extra = {}) {
    return { Accept: 'application/json, application/problem+json', ...extra, ...this.callerHeaders() };
  }

  /** @returns {Promise<{status: number, body: any, headers: Headers}>} */
  async send(method, path, body, signal) {
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers: this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new NetworkError(error);
    }
    const type = response.headers.get('Content-Type') ?? '';
    const payload = type.includes('json') ? await response.json().catch(() => null) : null;
    if (!response.ok) throw new ApiProblem(response.status, payload ?? { title: response.statusText }, response.headers);
    return { status: response.status, body: payload, headers: response.headers };
  }
}
