import { cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed fixtures (see __fixtures__/SOURCES.md). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

/** A temporary folder for one test; `cleanup` deletes it. */
export function tempDir(prefix = 'berth-ckpt-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a committed fixture into `dir/name` (so a test may break it without touching the original). */
export function copyFixture(
  fixture: string,
  dir: string,
  name = fixture.split('/').pop() ?? fixture,
): string {
  const target = join(dir, name);
  cpSync(join(FIXTURES, fixture), target, { recursive: true });
  return target;
}

/** A tensor for `writeSafetensors`: its range is computed unless given. */
export interface FakeTensor {
  dtype: string;
  shape: number[];
  data_offsets?: [number, number];
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, U8: 1 };

/**
 * Writes a safetensors file with a real header (8-byte LE length + JSON) and `dataBytes` of data (zeros by
 * default, or a hole with `sparse`). `headerLength` overrides the length field to fake broken files.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, FakeTensor>,
  options: { headerLength?: bigint; rawHeader?: string; dataBytes?: number; sparse?: boolean } = {},
): void {
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (const [name, t] of Object.entries(tensors)) {
    const size = t.shape.reduce((a, b) => a * b, 1) * (BYTES[t.dtype] ?? 2);
    const range = t.data_offsets ?? [offset, offset + size];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: range };
    offset = Math.max(offset, range[1]);
  }
  const json = Buffer.from(options.rawHeader ?? JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(options.headerLength ?? BigInt(json.length));
  mkdirSync(dirname(path), { recursive: true });
  const dataBytes = options.dataBytes ?? offset;
  if (options.sparse) {
    writeFileSync(path, Buffer.concat([length, json]));
    // truncate up: the data stays a hole, as in the benchmark's 70B layout
    truncateSync(path, 8 + json.length + dataBytes);
  } else {
    writeFileSync(path, Buffer.concat([length, json, Buffer.alloc(dataBytes)]));
  }
}

/** A minimal Llama config.json. */
export function llamaConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    vocab_size: 16,
    max_position_embeddings: 64,
    torch_dtype: 'float32',
    ...overrides,
  };
}

/** Writes a tiny but complete model folder (config + one safetensors file). */
export function writeTinyModel(dir: string, config: Record<string, unknown> = llamaConfig()): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeSafetensors(join(dir, 'model.safetensors'), {
    'model.embed_tokens.weight': { dtype: 'F32', shape: [16, 8] },
    'lm_head.weight': { dtype: 'F32', shape: [16, 8] },
  });
  return dir;
}
