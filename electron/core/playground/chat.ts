import { z } from 'zod';
import type { ChatRequest, ChatResult } from '../../../shared/api.js';
import { ChatMeter } from '../../../shared/sse.js';
import { BerthError } from '../errors.js';
import { readSse } from '../sse-read.js';

/** A playground chat turn, validated like every input from the window or the API. */
export const ChatRequestSchema = z
  .object({
    messages: z
      .array(
        z
          .object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().max(200_000) })
          .strict(),
      )
      .min(1)
      .max(200),
    max_tokens: z.number().int().min(1).max(32_768).optional(),
    temperature: z.number().min(0).max(2).optional(),
    base: z.boolean().optional(),
  })
  .strict();

/**
 * Streams one chat completion from a running server's OpenAI-compatible API (any backend), handing each text
 * delta to `onDelta`, and measures first-token latency and generation speed.
 */
export async function streamChatCompletion(
  server: { name: string; openai_base_url: string; model_name: string; base_model_name?: string | undefined },
  { base, ...request }: ChatRequest,
  onDelta: (text: string) => void,
  signal?: AbortSignal,
  apiKey?: string,
): Promise<ChatResult> {
  if (base && !server.base_model_name) {
    throw new BerthError(
      'NO_BASE_MODEL',
      `${server.name} serves no base model apart from its own`,
      'Base-vs-adapter needs a LoRA adapter served over its base (vLLM, or the built-in engine in adapter mode).',
    );
  }
  const model = base ? (server.base_model_name as string) : server.model_name;
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(`${server.openai_base_url}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify({
        model,
        ...request,
        stream: true,
        stream_options: { include_usage: true },
      }),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (signal?.aborted) throw new BerthError('CANCELLED', 'Chat stopped');
    throw new BerthError(
      'SERVER_UNREACHABLE',
      `The server did not answer: ${(error as Error).message}`,
      'Check its status and log on the Servers page.',
    );
  }
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => '');
    throw new BerthError(
      'SERVER_ERROR',
      `The server answered ${res.status}: ${text.slice(0, 300)}`,
      'See the server log for details.',
    );
  }
  const meter = new ChatMeter(started);
  try {
    for await (const data of readSse(res.body as AsyncIterable<Uint8Array>)) {
      if (data.trim() === '[DONE]') continue;
      const chunk = JSON.parse(data) as Parameters<ChatMeter['add']>[0] & { error?: { message?: string } };
      if (chunk.error)
        throw new BerthError('SERVER_ERROR', chunk.error.message ?? 'The server reported an error');
      const delta = meter.add(chunk, performance.now());
      if (delta) onDelta(delta);
    }
  } catch (error) {
    if (signal?.aborted) throw new BerthError('CANCELLED', 'Chat stopped');
    throw error;
  }
  return meter.result(performance.now());
}
