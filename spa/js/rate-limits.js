// The caller's rate limits as the backend reports them on every admitted or refused request, in OpenAI's headers
// (x-ratelimit-limit-requests, x-ratelimit-remaining-requests, and the same for tokens; the IETF RateLimit headers say
// the same). A caller with no limit gets none, and an answer from the cache is not counted, so the last known values stay.

/**
 * @param {Headers} headers
 * @param {{requests: HTMLElement, tokens: HTMLElement}} outputs
 */
export function showRateLimits(headers, outputs) {
  for (const [kind, output] of Object.entries(outputs)) {
    const limit = headers.get(`x-ratelimit-limit-${kind}`);
    const remaining = headers.get(`x-ratelimit-remaining-${kind}`);
    if (limit === null || remaining === null) continue;
    output.textContent = `${Number(remaining).toLocaleString('en')} of ${Number(limit).toLocaleString('en')} left`;
  }
}
