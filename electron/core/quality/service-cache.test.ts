// What the quality service keeps and reuses (real evaluator on the real tiny GGUF, random weights): a report
// capped to N windows is kept with max_windows = N and answers only the same cap; a full report answers any cap
// it covers, and a capped run never replaces it.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConversionCache } from '../conversion/cache.js';
import type { ConversionService } from '../conversion/service.js';
import { TINY_GGUF } from '../engine/__fixtures__/fixtures.js';
import { createQualityService } from './service.js';
import { defaultEvalTextPath } from './text.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-qsvc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('quality reports kept per window cap', () => {
  it('capped and full reports: kept apart, reused where they answer, a capped run never replaces a full one', async () => {
    const cache = new ConversionCache(dir);
    const [model, ref] = ['b'.repeat(32), 'c'.repeat(32)];
    for (const [id, q] of [
      [model, 'Q8_0'],
      [ref, 'F16'],
    ] as const) {
      copyFileSync(TINY_GGUF, cache.ggufPath(id));
      cache.add({
        id,
        model_path: '/m',
        quantization: q,
        created_at: '2026-01-01T00:00:00.000Z',
        converter_version: '1',
      });
    }
    // A text of a few 64-token windows (the head of the default text), so a full run stays short.
    const text = join(dir, 'short.txt');
    writeFileSync(text, readFileSync(defaultEvalTextPath(), 'utf8').slice(0, 900));
    const service = createQualityService({
      conversion: {} as ConversionService, // GGUF targets never convert
      ggufCacheDir: dir,
      gpu: 'cpu',
      threads: 1,
    });
    const target = cache.ggufPath(model);
    const base = { target, text, context: 64 };
    const kept = () => cache.get(model)?.quality ?? [];

    const capped = await service.measure({ ...base, maxWindows: 1 });
    expect(capped).toMatchObject({ cached: false, report: { windows: 1, max_windows: 1 } });
    expect(capped.report.reference_path).toBe(cache.ggufPath(ref)); // found its own F16 in the cache
    expect(kept()).toHaveLength(1);
    expect((await service.measure({ ...base, maxWindows: 1 })).cached).toBe(true);

    const full = await service.measure(base); // a full request is not answered by a capped report
    expect(full.cached).toBe(false);
    expect(full.report.max_windows).toBeUndefined();
    const windows = full.report.windows;
    expect(windows).toBeGreaterThan(1);
    expect(kept().map((r) => r.max_windows)).toEqual([undefined]); // replaced the capped one

    // A cap at least as large as the full report's windows is answered by it ...
    const covered = await service.measure({ ...base, maxWindows: windows });
    expect(covered).toMatchObject({ cached: true, report: { created_at: full.report.created_at } });
    // ... a smaller one is measured, and does not replace the full report.
    const smaller = await service.measure({ ...base, maxWindows: 1 });
    expect(smaller).toMatchObject({ cached: false, report: { windows: 1, max_windows: 1 } });
    expect(kept().map((r) => r.created_at)).toEqual([full.report.created_at]);
  }, 180_000);
});
