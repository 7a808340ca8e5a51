import { splitSse } from '../../shared/sse.js';

/** The data payload of each Server-Sent-Events message in a response body, as it arrives. */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    const { messages, rest } = splitSse(buffer + decoder.decode(chunk, { stream: true }));
    buffer = rest;
    yield* messages;
  }
}
