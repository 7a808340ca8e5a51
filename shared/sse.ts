/**
 * Splits buffered Server-Sent-Events text into the data payloads of its complete messages and the unfinished
 * rest (to prepend to the next chunk). Accepts LF and CRLF line ends; `data:` with or without a space.
 */
export function splitSse(buffer: string): { messages: string[]; rest: string } {
  const messages: string[] = [];
  const frames = buffer.split(/\r?\n\r?\n/);
  const rest = frames.pop() ?? '';
  for (const frame of frames) {
    const data = frame
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (data) messages.push(data);
  }
  return { messages, rest };
}

/** Counts a streamed chat reply: text, tokens, time to first token and generation speed. */
export class ChatMeter {
  text = '';
  private chunks = 0;
  private usageTokens: number | undefined;
  private first: number | undefined;

  constructor(private readonly started: number) {}

  /** One OpenAI chat-completions stream chunk; returns its text delta, if any. */
  add(
    chunk: { choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens?: number } },
    now: number,
  ): string | undefined {
    if (chunk.usage?.completion_tokens !== undefined) this.usageTokens = chunk.usage.completion_tokens;
    const delta = chunk.choices?.[0]?.delta?.content;
    if (!delta) return undefined;
    this.first ??= now;
    this.chunks++;
    this.text += delta;
    return delta;
  }

  /** The totals at `end`: the server's usage count when it sent one, else the chunks seen. */
  result(end: number): {
    text: string;
    completion_tokens: number;
    first_token_ms: number;
    tokens_per_second: number;
  } {
    const tokens = this.usageTokens ?? this.chunks;
    const generating = this.first !== undefined ? (end - this.first) / 1000 : 0;
    return {
      text: this.text,
      completion_tokens: tokens,
      first_token_ms: (this.first ?? end) - this.started,
      tokens_per_second: generating > 0 && tokens > 1 ? (tokens - 1) / generating : 0,
    };
  }
}
