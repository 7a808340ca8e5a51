import { describe, expect, it } from 'vitest';
import { ChatMeter, splitSse } from './sse.js';

describe('splitSse', () => {
  it('returns complete messages and keeps the unfinished rest', () => {
    expect(splitSse('data: {"a":1}\n\ndata: {"b"')).toEqual({ messages: ['{"a":1}'], rest: 'data: {"b"' });
  });
  it('reads CRLF, comments, "data:" without a space and multi-line data', () => {
    const { messages, rest } = splitSse(': ping\r\n\r\ndata:x\r\n\r\nevent: e\ndata: one\ndata: two\n\n');
    expect(messages).toEqual(['x', 'one\ntwo']);
    expect(rest).toBe('');
  });
});

describe('ChatMeter', () => {
  it('prefers the server usage count and measures from the first token', () => {
    const meter = new ChatMeter(1000);
    meter.add({ choices: [{ delta: { content: '' } }] }, 1100);
    meter.add({ choices: [{ delta: { content: 'Hel' } }] }, 1200);
    meter.add({ choices: [{ delta: { content: 'lo' } }] }, 1700);
    meter.add({ choices: [], usage: { completion_tokens: 3 } }, 1710);
    expect(meter.result(2200)).toEqual({
      text: 'Hello',
      completion_tokens: 3,
      first_token_ms: 200,
      tokens_per_second: 2,
    });
  });
  it('counts chunks when the server sends no usage', () => {
    const meter = new ChatMeter(0);
    meter.add({ choices: [{ delta: { content: 'a' } }] }, 10);
    expect(meter.result(20)).toMatchObject({ completion_tokens: 1, tokens_per_second: 0 });
  });
});
