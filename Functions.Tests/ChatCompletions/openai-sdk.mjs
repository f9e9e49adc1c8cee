// Drives this backend's OpenAI-compatible door with the official `openai` npm package, unchanged: the SDK an SPA
// developer already holds. Prints one JSON object with what each call saw. Usage: node openai-sdk.mjs <baseURL>
import OpenAI from 'openai';

const [baseURL] = process.argv.slice(2);
// Any key: the backend holds the real one. maxRetries 0, so a failure shows what the backend answered.
const client = new OpenAI({ baseURL, apiKey: 'unused-by-this-backend', maxRetries: 0 });
const model = 'gpt-4.1-mini';
const out = {};

const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello sdk' }] });
out.completion = { object: completion.object, content: completion.choices[0].message.content, usage: completion.usage };

const stream = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true },
});
const pieces = [];
let usage = null;
for await (const chunk of stream) {
  const piece = chunk.choices[0]?.delta?.content;
  if (piece) pieces.push(piece);
  if (chunk.usage) usage = chunk.usage;
}
out.stream = { pieces, usage };

// The SDK's stream helper accumulates the chunks into a final completion.
const runner = client.chat.completions.stream({ model, messages: [{ role: 'user', content: 'helper' }] });
out.helper = (await runner.finalChatCompletion()).choices[0].message.content;

try {
  await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], n: 2 });
  out.invalid = 'no error';
} catch (error) {
  out.invalid = { name: error.constructor.name, status: error.status, param: error.param, code: error.code };
}

try {
  const broken = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'break' }], stream: true });
  for await (const chunk of broken) { /* read until the backend reports the break */ }
  out.midStream = 'no error';
} catch (error) {
  out.midStream = { name: error.constructor.name, code: error.code ?? error.error?.code, message: error.message };
}

console.log(JSON.stringify(out));
