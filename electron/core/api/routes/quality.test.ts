// POST /api/quality over real HTTP: the real evaluator child on the real tiny GGUF, progress as SSE events.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QualityReportSchema } from '../../../../shared/quality.js';
import { TINY_GGUF } from '../../engine/__fixtures__/fixtures.js';
import { makeTestApi } from '../../test-support/core.js';

// biome-ignore lint/suspicious/noExplicitAny: event payloads are checked field by field
type SseEvent = { event: string; data: any };
let t: Awaited<ReturnType<typeof makeTestApi>>;
beforeAll(async () => {
  t = await makeTestApi({ env: { ...process.env, BERTH_QUALITY_GPU: 'cpu' } });
});
afterAll(async () => {
  await t?.dispose();
});

/** Reads a whole SSE response into (event, data) pairs. */
async function sse(path: string, body: unknown): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(t.api.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.api.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const events = text
    .split(/\n\n/)
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      return data === undefined ? undefined : { event, data: JSON.parse(data) };
    })
    .filter((e): e is SseEvent => e !== undefined);
  return { status: res.status, events };
}

describe('quality routes', () => {
  it('POST /api/quality streams progress, then the report', async () => {
    const { status, events } = await sse('/api/quality', {
      gguf_path: TINY_GGUF,
      against: TINY_GGUF,
      context: 64,
      windows: 1,
    });
    expect(status).toBe(200);
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.some((p) => p.data.phase === 'measure' && p.data.stage === 'evaluating')).toBe(true);
    const result = events.at(-1);
    expect(result?.event).toBe('result');
    const report = QualityReportSchema.parse(result?.data.report);
    expect(report).toMatchObject({ kl_mean: 0, top1_agreement: 1, tokens: 31 });
  }, 120_000);

  it('errors: a GGUF without reference is an error event, bad bodies a 400', async () => {
    const { events } = await sse('/api/quality', { gguf_path: TINY_GGUF });
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'REFERENCE_REQUIRED' } });
    const relative = await t.call('POST', '/api/quality', { gguf_path: 'model.gguf' });
    expect(relative.status).toBe(400);
    expect(relative.body.error.code).toBe('INVALID_REQUEST');
    const unknown = await t.call('POST', '/api/quality', { gguf_path: TINY_GGUF, bogus: 1 });
    expect(unknown.status).toBe(400);
    const text = join(t.home, 'short.txt');
    writeFileSync(text, 'short');
    const short = await sse('/api/quality', {
      gguf_path: TINY_GGUF,
      against: TINY_GGUF,
      text_path: text,
      context: 64,
    });
    expect(short.events.at(-1)).toMatchObject({ event: 'error', data: { code: 'EVAL_TEXT_TOO_SHORT' } });
  }, 120_000);
});
