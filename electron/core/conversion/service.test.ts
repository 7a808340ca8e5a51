import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../../shared/events.js';
import { makeTestApi } from '../test-support/core.js';
import { converterRoot } from './locate.js';

const root = converterRoot();
const python = join(root, 'python', '.venv', 'bin', 'python');
const haveVenv = existsSync(python);
const work = mkdtempSync(join(tmpdir(), 'berth-conv-'));

/** A random BF16 Llama with the real Llama-2 tokenizer, written by the tests' numpy helper (a real child). */
function makeModel(name: string, hidden: number, layers: number, inter: number): string {
  const folder = join(work, name);
  const code = [
    'import sys; from pathlib import Path',
    `sys.path.insert(0, ${JSON.stringify(join(root, 'python', 'tests'))})`,
    'from synthetic import llama_folder',
    `llama_folder(Path(sys.argv[1]), Path(sys.argv[2]), hidden=${hidden}, layers=${layers}, inter=${inter}, heads=4, kv_heads=2)`,
  ].join('\n');
  execFileSync(python, ['-c', code, folder, join(root, 'python', 'tests', 'data', 'llama2-tokenizer')]);
  return folder;
}

describe.skipIf(!haveVenv)('core.conversion with the real converter', () => {
  let t: Awaited<ReturnType<typeof makeTestApi>>;
  let tiny: string;
  beforeAll(async () => {
    t = await makeTestApi();
    tiny = makeModel('tiny', 64, 2, 128);
  }, 60_000);
  afterAll(async () => {
    await t.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('reports a ready environment from the repo venv', async () => {
    expect(await t.core.conversion.env()).toMatchObject({ ready: true, source: 'repo', missing: [] });
  });

  it('converts once, parses progress, then serves the cache; the API lists and deletes it', async () => {
    const progress: Progress[] = [];
    const logs: string[] = [];
    const first = await t.core.conversion.convert({
      modelPath: tiny,
      quantization: 'F16',
      onProgress: (p) => progress.push(p),
      onLog: (line) => logs.push(line),
    });
    expect(first.cached).toBe(false);
    expect(existsSync(first.ggufPath)).toBe(true);
    expect(first.ggufPath.startsWith(t.core.paths.ggufCacheDir)).toBe(true);
    const last = progress.at(-1);
    expect(last).toMatchObject({ stage: 'convert', unit: 'bytes' });
    expect(last?.done).toBe(last?.total);
    expect(logs.some((l) => l.includes('LlamaForCausalLM -> llama'))).toBe(true);

    const second = await t.core.conversion.convert({ modelPath: tiny, quantization: 'F16' });
    expect(second).toEqual({ ggufPath: first.ggufPath, cached: true, bytes: first.bytes });

    const listed = await t.call('GET', '/api/conversions/cache');
    expect(listed.status).toBe(200);
    expect(listed.body.entries).toHaveLength(1);
    expect(listed.body.entries[0]).toMatchObject({
      model_path: tiny,
      quantization: 'F16',
      bytes: first.bytes,
    });
    const id = listed.body.entries[0].id as string;
    expect((await t.call('DELETE', `/api/conversions/cache/${id}`)).status).toBe(200);
    expect(existsSync(first.ggufPath)).toBe(false);
    expect((await t.call('DELETE', `/api/conversions/cache/${id}`)).status).toBe(404);
    expect((await t.call('DELETE', '/api/conversions/cache/..%2F..%2Fetc')).status).toBe(400);
  }, 60_000);

  it('quantizes on every core and keeps only <id>.gguf and <id>.json in the cache (no F16 intermediate)', async () => {
    const logs: string[] = [];
    const q8 = await t.core.conversion.convert({
      modelPath: tiny,
      quantization: 'Q8_0',
      onLog: (line) => logs.push(line),
    });
    const cores = availableParallelism();
    const command = logs.find((l) => l.includes('convert_to_gguf.py'));
    expect(command).toContain(`--threads ${cores}`);
    // the converter's own line, printed as it hands the F16 file to llama.cpp's quantizer
    expect(logs.some((l) => l.includes(`quantizing to Q8_0 with llama.cpp (${cores} threads)`))).toBe(true);
    const id = basename(q8.ggufPath, '.gguf');
    const entries = readdirSync(t.core.paths.ggufCacheDir).filter((f) => f.startsWith(`${id}.`));
    expect(entries.sort()).toEqual([`${id}.gguf`, `${id}.json`]);
    expect(readdirSync(t.core.paths.ggufCacheDir).filter((f) => f.includes('partial'))).toEqual([]);
    const listed = await t.call('GET', '/api/conversions/cache');
    const entry = listed.body.entries.find((e: { id: string }) => e.id === id);
    expect(entry).toMatchObject({ quantization: 'Q8_0', bytes: q8.bytes });
    expect((await t.call('DELETE', `/api/conversions/cache/${id}`)).status).toBe(200);
  }, 120_000);

  it('turns a converter error into a BerthError with its code and hint', async () => {
    await expect(
      t.core.conversion.convertTo({
        modelPath: tiny,
        outPath: join(work, 'missing-dir', 'x.gguf'),
        quantization: 'F16',
      }),
    ).rejects.toMatchObject({ code: 'OUTPUT_NOT_WRITABLE', hint: expect.any(String) });
  }, 60_000);

  it('cancel mid-run leaves nothing behind', async () => {
    const big = makeModel('big', 1024, 4, 2816);
    const abort = new AbortController();
    const run = t.core.conversion.convert({
      modelPath: big,
      quantization: 'Q4_K_M',
      signal: abort.signal,
      onProgress: (p) => {
        if (p.stage === 'convert') abort.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(t.core.paths.ggufCacheDir).filter((f) => !f.endsWith('.json'))).toEqual([]);
    expect(t.core.conversion.cache.list()).toEqual([]);
  }, 120_000);

  it('explains a configured Python that cannot run the converter', async () => {
    // A Python that was there when chosen and is gone now (a deleted venv): settings refuse a missing file.
    const gone = join(work, 'gone-python');
    writeFileSync(gone, '#!/bin/sh\nexit 1\n');
    chmodSync(gone, 0o755);
    t.core.settings.update({ python: { converter: gone } });
    rmSync(gone);
    try {
      const env = await t.core.conversion.env();
      expect(env).toMatchObject({ ready: false, source: 'settings' });
      await expect(t.core.conversion.convert({ modelPath: tiny, quantization: 'F16' })).rejects.toMatchObject(
        {
          code: 'CONVERTER_ENV_MISSING',
        },
      );
    } finally {
      t.core.settings.update({ python: { converter: null } });
    }
  }, 60_000);
});
