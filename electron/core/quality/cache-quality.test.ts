// The GGUF cache entry keeps quality reports: one per (text, context, reference), replaced when measured again.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { QualityReport } from '../../../shared/quality.js';
import { ConversionCache } from '../conversion/cache.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-qcache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const id = 'a'.repeat(32);
const report = (over: Partial<QualityReport>): QualityReport =>
  ({
    model_path: join(dir, `${id}.gguf`),
    reference_path: '/ref.gguf',
    model_type: 'Q4_K_M',
    reference_type: 'F16',
    text: { source: 'default', name: 't', format: 'text', records: 1, sha256: 'x' },
    context: 512,
    windows: 1,
    tokens: 10,
    kl_mean: 0.1,
    kl_median: 0.1,
    kl_p99: 0.2,
    kl_max: 0.3,
    top1_agreement: 0.9,
    ppl_reference: 2,
    ppl_model: 2.1,
    ppl_ratio: 1.05,
    seconds: 1,
    eval_seconds: 1,
    gpu: false,
    created_at: '2026-01-01T00:00:00.000Z',
    ...over,
  }) as QualityReport;

describe('quality reports in the GGUF cache', () => {
  it('finds an entry by its GGUF path and keeps one report per text, context and reference', () => {
    const cache = new ConversionCache(dir);
    writeFileSync(join(dir, `${id}.gguf`), 'gguf bytes');
    cache.add({
      id,
      model_path: '/m',
      quantization: 'Q4_K_M',
      created_at: '2026-01-01T00:00:00.000Z',
      converter_version: '1',
    });
    expect(cache.byPath(join(dir, `${id}.gguf`))?.id).toBe(id);
    expect(cache.byPath('/elsewhere/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.gguf')).toBeUndefined();
    cache.addQuality(id, report({}));
    cache.addQuality(id, report({ context: 256 }));
    cache.addQuality(id, report({ kl_mean: 0.05 })); // same text, context, reference: replaces the first
    const kept = cache.get(id)?.quality ?? [];
    expect(kept.map((r) => [r.context, r.kl_mean])).toEqual([
      [256, 0.1],
      [512, 0.05],
    ]);
    // still a valid entry on disk, with its bytes
    expect(JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')).bytes).toBe(10);
  });
});
