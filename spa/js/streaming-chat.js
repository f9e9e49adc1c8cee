// One turn through the interactive door, POST /api/v1/chat/completions, with the official `openai` package exactly
// as an SPA developer already uses it against OpenAI: only the baseURL differs. The text is shown token by token as
// the backend streams it (SSE); the final usage chunk carries the tokens and what the answer cost.
import OpenAI from 'openai';
import { ApiProblem, NetworkError, StreamCut } from './api.js';
import { cacheOf } from './background-job.js';

/**
 * The SDK insists on an apiKey. This page has none and needs none: the backend holds the OpenAI key. (Behind App
 * Service authentication, this is where the signed-in user's access token for the API would go.)
 */
const NoKeyInTheBrowser = 'none-the-backend-holds-the-key';

/**
 * @param {import('./api.js').Api} api
 * @param {object} request an OpenAI chat completion request (messages, max_tokens, temperature, …)
 * @param {(text: string) => void} onDelta called with each piece of text as it arrives
 * @returns {Promise<{content: string, model: string, usage: object|null, cache: 'hit'|'collapsed'|null, headers: Headers}>}
 */
export async function streamChat(api, request, onDelta) {
  const client = new OpenAI({
    baseURL: api.url('/api/v1'),
    apiKey: NoKeyInTheBrowser,
    dangerouslyAllowBrowser: true,
    defaultHeaders: api.callerHeaders(),
    // One retry owner: the backend retries the model; this page explains a 429 or 503 and its wait instead.
    maxRetries: 0,
  });

  let stream;
  let response;
  try {
    ({ data: stream, response } = await client.chat.completions
      .create({ ...request, stream: true, stream_options: { include_usage: true } })
      .withResponse());
  } catch (error) {
    throw fromSdk(error);
  }

  let content = '';
  let model = '';
  let usage = null;
  let finished = false;
  try {
    for await (const chunk of stream) {
      model = chunk.model || model;
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) {
        content += choice.delta.content;
        onDelta(choice.delta.content);
      }
      finished ||= Boolean(choice?.finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
  } catch (error) {
    throw new StreamCut(content, fromSdk(error));
  }
  // A connection that closes before the model said it finished ends the SDK's loop quietly: still a cut answer.
  if (!finished) throw new StreamCut(content, null);
  return { content, model, usage, cache: cacheOf(response.headers), headers: response.headers };
}

/** The SDK's errors as this page's: an answer from the backend (OpenAI's error shape) or no answer at all. */
function fromSdk(error) {
  if (error instanceof OpenAI.APIConnectionError) return new NetworkError(error);
  if (error instanceof OpenAI.APIError && error.status) {
    const { message, code, param } = error.error ?? {};
    const text = message ?? error.message;
    const problem = { title: text, detail: text, code };
    // A 400 names one field (param), as OpenAI's does; its message may repeat the name.
    if (error.status === 400 && param) problem.errors = { [param]: [text.replace(`${param}: `, '')] };
    return new ApiProblem(error.status, problem, error.headers);
  }
  return error;
}
