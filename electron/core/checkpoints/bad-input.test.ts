import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsError } from './files.js';
import { inspectPath } from './inspect.js';
import { copyFixture, llamaConfig, tempDir, writeSafetensors, writeTinyModel } from './test-fixtures.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const env = { HOME: '/nonexistent-home' };

/** The code inspection reports for `path`: the error it throws, else the first checkpoint's first error. */
async function codeOf(path: string): Promise<string | undefined> {
  try {
    const result = await inspectPath(path, { env });
    return result.checkpoints.flatMap((c) => c.errors)[0]?.code;
  } catch (error) {
    const e = error as { code?: string; message?: string; hint?: string };
    // every error must be one a person can act on
    expect(e.message).toBeTruthy();
    expect(e.hint).toBeTruthy();
    return e.code;
  }
}

const tensors = { 'w.weight': { dtype: 'F32', shape: [4, 4] } };

describe('bad input gets a clear error code, never a crash', () => {
  it('a path that does not exist', async () => {
    expect(await codeOf(join(tmp.dir, 'nope'))).toBe('PATH_NOT_FOUND');
  });

  it('a file that is not a folder (nor a GGUF)', async () => {
    writeFileSync(join(tmp.dir, 'notes.txt'), 'hello');
    expect(await codeOf(join(tmp.dir, 'notes.txt'))).toBe('NOT_A_FOLDER');
  });

  it('an empty folder', async () => {
    expect(await codeOf(tmp.dir)).toBe('EMPTY_FOLDER');
  });

  it('a folder with neither config.json nor checkpoints', async () => {
    writeFileSync(join(tmp.dir, 'README.md'), '# my notes');
    expect(await codeOf(tmp.dir)).toBe('CONFIG_MISSING');
  });

  it('weights without config.json', async () => {
    writeSafetensors(join(tmp.dir, 'model.safetensors'), tensors);
    expect(await codeOf(tmp.dir)).toBe('CONFIG_MISSING');
  });

  it('config.json that is not JSON', async () => {
    writeTinyModel(tmp.dir);
    writeFileSync(join(tmp.dir, 'config.json'), '{"architectures": ["LlamaForCausalLM"],');
    expect(await codeOf(tmp.dir)).toBe('CONFIG_INVALID');
  });

  it('config.json without architectures or model_type', async () => {
    writeTinyModel(tmp.dir, { hidden_size: 8 });
    expect(await codeOf(tmp.dir)).toBe('CONFIG_INVALID');
  });

  it('config.json of an unknown model type missing shape fields', async () => {
    writeTinyModel(tmp.dir, { architectures: ['WeirdForCausalLM'], model_type: 'weird', hidden_size: 8 });
    expect(await codeOf(tmp.dir)).toBe('CONFIG_INVALID');
  });

  it('an unknown architecture is still described, marked unsupported', async () => {
    writeTinyModel(tmp.dir, llamaConfig({ architectures: ['FancyNewForCausalLM'], model_type: 'fancy' }));
    const [c] = (await inspectPath(tmp.dir, { env })).checkpoints;
    expect(c?.errors).toEqual([]);
    expect(c?.architecture).toBe('FancyNewForCausalLM');
    expect(c?.parameters).toBe(256);
    expect(c?.vllm_servable).toMatchObject({ ok: false, code: 'UNSUPPORTED_ARCHITECTURE' });
    expect(c?.gguf_convertible).toMatchObject({ ok: false, code: 'UNSUPPORTED_ARCHITECTURE' });
  });

  it('an index naming a missing shard', async () => {
    const model = copyFixture('tiny-qwen2-sharded', tmp.dir);
    const index = JSON.parse(readFileSync(join(model, 'model.safetensors.index.json'), 'utf8'));
    unlinkSync(join(model, Object.values(index.weight_map as Record<string, string>)[0]!));
    expect(await codeOf(model)).toBe('SHARD_MISSING');
  });

  it('a config but no weights at all', async () => {
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify(llamaConfig()));
    expect(await codeOf(tmp.dir)).toBe('WEIGHTS_MISSING');
  });

  it('a safetensors header length larger than the file', async () => {
    writeTinyModel(tmp.dir);
    writeSafetensors(join(tmp.dir, 'model.safetensors'), tensors, { headerLength: 10_000n });
    expect(await codeOf(tmp.dir)).toBe('SAFETENSORS_TRUNCATED');
  });

  it('an absurdly large safetensors header length', async () => {
    writeTinyModel(tmp.dir);
    writeSafetensors(join(tmp.dir, 'model.safetensors'), tensors, { headerLength: 1n << 60n });
    expect(await codeOf(tmp.dir)).toBe('SAFETENSORS_HEADER_TOO_LARGE');
  });

  it('a safetensors header that is not JSON', async () => {
    writeTinyModel(tmp.dir);
    writeSafetensors(join(tmp.dir, 'model.safetensors'), tensors, {
      rawHeader: '{"w.weight": {"dtype": "F3',
    });
    expect(await codeOf(tmp.dir)).toBe('SAFETENSORS_HEADER_INVALID');
  });

  it('an unknown dtype', async () => {
    writeTinyModel(tmp.dir);
    writeSafetensors(join(tmp.dir, 'model.safetensors'), {
      'w.weight': { dtype: 'Q4_WEIRD', shape: [2], data_offsets: [0, 2] },
    });
    expect(await codeOf(tmp.dir)).toBe('UNKNOWN_DTYPE');
  });

  it('a tensor byte range outside the file', async () => {
    writeTinyModel(tmp.dir);
    writeSafetensors(join(tmp.dir, 'model.safetensors'), tensors, { dataBytes: 20 });
    expect(await codeOf(tmp.dir)).toBe('TENSOR_OUT_OF_BOUNDS');
  });

  it('overlapping tensor byte ranges', async () => {
    writeTinyModel(tmp.dir);
    writeSafetensors(join(tmp.dir, 'model.safetensors'), {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
    });
    expect(await codeOf(tmp.dir)).toBe('TENSOR_OVERLAP');
  });

  it('a GGUF file that is not one', async () => {
    writeFileSync(join(tmp.dir, 'model.gguf'), Buffer.from('GGML not really'));
    expect(await codeOf(join(tmp.dir, 'model.gguf'))).toBe('GGUF_INVALID');
  });

  it('a truncated GGUF (the real one, cut short)', async () => {
    const gguf = copyFixture('shared/ollama-tiny-gguf/llama-2-tiny-random.gguf', tmp.dir, 'cut.gguf');
    writeFileSync(gguf, readFileSync(gguf).subarray(0, 5000));
    expect(await codeOf(gguf)).toBe('GGUF_INVALID');
  });

  it('.bin-only checkpoints are described from config, with what conversion needs', async () => {
    const model = copyFixture('shared/tiny-random-llama-spm', tmp.dir);
    const [c] = (await inspectPath(model, { env })).checkpoints;
    expect(c).toMatchObject({ kind: 'bin-only', architecture: 'LlamaForCausalLM', errors: [] });
    expect(c?.size_bytes).toBe(statSync(join(model, 'pytorch_model.bin')).size);
    expect(c?.parameters).toBeUndefined();
    expect(c?.vllm_servable?.ok).toBe(true);
    expect(c?.gguf_convertible).toMatchObject({ ok: false, code: 'BIN_ONLY' });
    expect(c?.gguf_convertible?.reason).toContain('save_pretrained');
  });

  it('an adapter whose base is missing', async () => {
    const adapter = copyFixture('lora-missing-base', tmp.dir);
    expect(await codeOf(adapter)).toBe('ADAPTER_BASE_MISSING');
    const [c] = (await inspectPath(adapter, { env })).checkpoints;
    expect(c?.lora?.rank).toBe(4);
    expect(c?.vllm_servable).toMatchObject({ ok: false, code: 'ADAPTER_BASE_MISSING' });
  });

  it('a symlink loop as the path', async () => {
    symlinkSync(join(tmp.dir, 'loop'), join(tmp.dir, 'loop'));
    expect(await codeOf(join(tmp.dir, 'loop'))).toBe('SYMLINK_LOOP');
  });

  it('a weights file that is a symlink loop', async () => {
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify(llamaConfig()));
    symlinkSync(join(tmp.dir, 'model.safetensors'), join(tmp.dir, 'model.safetensors'));
    expect(await codeOf(tmp.dir)).toBe('SYMLINK_LOOP');
  });

  it('a checkpoint folder linking back to its run does not recurse', async () => {
    writeTinyModel(join(tmp.dir, 'checkpoint-1'));
    symlinkSync(tmp.dir, join(tmp.dir, 'checkpoint-2'));
    const run = await inspectPath(tmp.dir, { env });
    expect(run.checkpoints.find((c) => c.relative_path === 'checkpoint-1')?.errors).toEqual([]);
    expect(run.checkpoints.find((c) => c.relative_path === 'checkpoint-2')?.errors[0]?.code).toBe(
      'SYMLINK_LOOP',
    );
  });

  it.skipIf(process.getuid?.() === 0)(
    'an unreadable weights file (skipped as root: root reads anything)',
    async () => {
      writeTinyModel(tmp.dir);
      chmodSync(join(tmp.dir, 'model.safetensors'), 0o000);
      expect(await codeOf(tmp.dir)).toBe('FILE_UNREADABLE');
    },
  );

  it('maps the errno of an unreadable file to FILE_UNREADABLE (runs as root too)', () => {
    const eacces = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(fsError(eacces, '/x/model.safetensors').code).toBe('FILE_UNREADABLE');
  });

  it('paths with spaces and non-ASCII names', async () => {
    const model = copyFixture('tiny-llama-bf16', tmp.dir, 'mön modèle 模型 v2');
    const result = await inspectPath(model, { env });
    expect(result.name).toBe('mön modèle 模型 v2');
    expect(result.checkpoints[0]?.errors).toEqual([]);
    expect(result.checkpoints[0]?.parameters).toBe(14928);
  });

  it('one broken checkpoint does not hide the others', async () => {
    writeTinyModel(join(tmp.dir, 'checkpoint-1'));
    mkdirSync(join(tmp.dir, 'checkpoint-2'));
    writeFileSync(join(tmp.dir, 'checkpoint-2', 'config.json'), 'not json');
    const run = await inspectPath(tmp.dir, { env });
    expect(run.checkpoints.map((c) => [c.relative_path, c.errors[0]?.code])).toEqual([
      ['checkpoint-1', undefined],
      ['checkpoint-2', 'CONFIG_INVALID'],
    ]);
  });

  it.each([
    ['config.json', 'config.json'],
    ['a safetensors shard', 'model.safetensors'],
    ['tokenizer.json', 'tokenizer.json'],
    ['tokenizer_config.json', 'tokenizer_config.json'],
    ['a tokenizer file Berth does not open itself', 'special_tokens_map.json'],
  ])('%s that is a FIFO: NOT_A_FILE naming it, at once (never opened)', async (_what, name) => {
    writeTinyModel(tmp.dir);
    writeFileSync(join(tmp.dir, 'tokenizer_config.json'), '{}');
    writeFileSync(join(tmp.dir, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
    rmSync(join(tmp.dir, name), { force: true });
    execFileSync('mkfifo', [join(tmp.dir, name)]);
    const result = await inspectPath(tmp.dir, { env });
    const errors = result.checkpoints.flatMap((c) => c.errors);
    expect(errors).toContainEqual(
      expect.objectContaining({ code: 'NOT_A_FILE', message: expect.stringContaining(name) }),
    );
    expect(errors.find((e) => e.code === 'NOT_A_FILE')?.message).toContain('FIFO');
  });

  it('a shard that links to a device: NOT_A_FILE', async () => {
    writeTinyModel(tmp.dir);
    rmSync(join(tmp.dir, 'model.safetensors'));
    symlinkSync('/dev/zero', join(tmp.dir, 'model.safetensors'));
    const errors = (await inspectPath(tmp.dir, { env })).checkpoints.flatMap((c) => c.errors);
    expect(errors[0]).toMatchObject({ code: 'NOT_A_FILE', message: expect.stringContaining('device') });
  });

  it('a 50 MB config.json is refused from its size, not parsed', async () => {
    writeTinyModel(tmp.dir);
    const big = join(tmp.dir, 'config.json');
    writeFileSync(big, `{"architectures": ["LlamaForCausalLM"], "pad": "${'x'.repeat(50 * 1024 * 1024)}"}`);
    const errors = (await inspectPath(tmp.dir, { env })).checkpoints.flatMap((c) => c.errors);
    expect(errors[0]).toMatchObject({
      code: 'FILE_TOO_LARGE',
      message: expect.stringContaining('config.json'),
    });
    expect(errors[0]?.hint).toBeTruthy();
  });

  it('never modifies the source: modes and bytes unchanged', async () => {
    const model = copyFixture('trainer-run', tmp.dir);
    const file = join(model, 'checkpoint-3', 'model.safetensors');
    chmodSync(file, 0o444);
    const before = { bytes: readFileSync(file), mtime: statSync(file).mtimeMs };
    await inspectPath(model, { env });
    expect(readFileSync(file).equals(before.bytes)).toBe(true);
    expect(statSync(file).mtimeMs).toBe(before.mtime);
    rmSync(file);
  });
});
