// The evaluator child on the real tiny GGUF (random weights, so only structural checks here; the numerical ones
// run on a trained model in python/tests/test_quality.py).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type QualityReport, QualityReportSchema } from '../../../shared/quality.js';
import { TINY_GGUF } from '../engine/__fixtures__/fixtures.js';
import { defaultEvaluatorCommand, measureQuality } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-quality-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = {
  model: TINY_GGUF,
  reference: TINY_GGUF,
  context: 64,
  maxWindows: 1,
  gpu: 'cpu' as const,
  threads: 1,
};

describe('quality evaluator (real llama.cpp)', () => {
  it('a GGUF against itself: KL 0, full top-1 agreement, equal perplexities; progress reaches the total', async () => {
    const progress: { stage: string; done: number; total: number }[] = [];
    const dump = join(dir, 'windows.json');
    const report = await measureQuality({
      ...base,
      onProgress: (p) => progress.push(p),
      extra: { dump_windows: dump },
    });
    expect(QualityReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      tokens: 31,
      windows: 1,
      context: 64,
      kl_mean: 0,
      kl_max: 0,
      top1_agreement: 1,
    });
    expect(report.ppl_ratio).toBe(1);
    expect(report.method).toBe('logits'); // raw logits from the libllama node-llama-cpp loaded
    expect(report.model_type).toBe('F16');
    expect(report.text.source).toBe('default');
    const evaluating = progress.filter((p) => p.stage === 'evaluating');
    expect(evaluating.at(-1)).toMatchObject({ done: 31, total: 31 });
    const windows = JSON.parse(readFileSync(dump, 'utf8'));
    expect(windows.first).toBe(32);
    expect(windows.windows).toHaveLength(1);
    expect(windows.windows[0]).toHaveLength(64);
  }, 120_000);

  it('a comparison shifted by one token is caught (KL > 0, agreement < 1)', async () => {
    const report = await measureQuality({ ...base, extra: { test_shift: 1 } });
    expect(report.kl_mean).toBeGreaterThan(0);
    expect(report.top1_agreement).toBeLessThan(1);
  }, 120_000);

  it('without a libllama to bind, it says so and reads the same figures through node-llama-cpp', async () => {
    const logs: string[] = [];
    const cmd = defaultEvaluatorCommand();
    const slow = await measureQuality({
      ...base,
      command: { ...cmd, env: { ...cmd.env, BERTH_LIBLLAMA: join(dir, 'no-such-libllama.so') } },
      extra: { test_shift: 1 },
      onLog: (l) => logs.push(l),
    });
    expect(slow.method).toBe('probabilities');
    expect(logs.join('\n')).toMatch(
      /raw logits unavailable \(the libllama node-llama-cpp loaded was not found\)/,
    );
    const fast = await measureQuality({ ...base, extra: { test_shift: 1 } });
    expect(fast.method).toBe('logits');
    // the shifted comparison pairs one row fewer in the fallback (its first chunk is a single position)
    expect(Math.abs(fast.tokens - slow.tokens)).toBeLessThanOrEqual(1);
    expect(fast.kl_mean).toBeGreaterThan(0);
    expect(Math.abs(fast.kl_mean - slow.kl_mean) / fast.kl_mean).toBeLessThan(0.05);
  }, 120_000);

  it('worker threads comparing the logits give exactly the figures of the evaluator thread', async () => {
    const pick = ({
      tokens,
      kl_mean,
      kl_median,
      kl_p99,
      kl_max,
      top1_agreement,
      ppl_reference,
      ppl_model,
    }: QualityReport) => ({
      tokens,
      kl_mean,
      kl_median,
      kl_p99,
      kl_max,
      top1_agreement,
      ppl_reference,
      ppl_model,
    });
    const one = await measureQuality({
      ...base,
      maxWindows: 2,
      extra: { test_shift: 1, compare_threads: 0 },
    });
    const pool = await measureQuality({
      ...base,
      maxWindows: 2,
      extra: { test_shift: 1, compare_threads: 2 },
    });
    expect([one.compare_threads, pool.compare_threads]).toEqual([0, 2]);
    expect(one.kl_mean).toBeGreaterThan(0);
    expect(pick(pool)).toEqual(pick(one));
  }, 120_000);

  it('a text shorter than one window is EVAL_TEXT_TOO_SHORT', async () => {
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'Too short.');
    await expect(measureQuality({ ...base, text: short })).rejects.toMatchObject({
      code: 'EVAL_TEXT_TOO_SHORT',
    });
  }, 120_000);

  it('a file that is not a GGUF is MODEL_LOAD_FAILED', async () => {
    const bad = join(dir, 'bad.gguf');
    writeFileSync(bad, 'not a gguf at all');
    await expect(measureQuality({ ...base, model: bad })).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
  }, 120_000);

  it('cancels: the child is stopped and the promise rejects with CANCELLED', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const work = measureQuality({
      ...base,
      maxWindows: 50,
      signal: abort.signal,
      onProgress: (p) => p.stage === 'evaluating' && abort.abort(),
    });
    await expect(work).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);
});
