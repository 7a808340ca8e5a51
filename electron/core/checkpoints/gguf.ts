import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { BerthError } from '../errors.js';
import { openReadOnly, readAt } from './files.js';

/** llama.cpp's general.file_type values (enum llama_ftype). */
const FILE_TYPES: Record<number, string> = {
  0: 'ALL_F32',
  1: 'MOSTLY_F16',
  2: 'MOSTLY_Q4_0',
  3: 'MOSTLY_Q4_1',
  7: 'MOSTLY_Q8_0',
  8: 'MOSTLY_Q5_0',
  9: 'MOSTLY_Q5_1',
  10: 'MOSTLY_Q2_K',
  11: 'MOSTLY_Q3_K_S',
  12: 'MOSTLY_Q3_K_M',
  13: 'MOSTLY_Q3_K_L',
  14: 'MOSTLY_Q4_K_S',
  15: 'MOSTLY_Q4_K_M',
  16: 'MOSTLY_Q5_K_S',
  17: 'MOSTLY_Q5_K_M',
  18: 'MOSTLY_Q6_K',
  19: 'MOSTLY_IQ2_XXS',
  20: 'MOSTLY_IQ2_XS',
  21: 'MOSTLY_Q2_K_S',
  22: 'MOSTLY_IQ3_XS',
  23: 'MOSTLY_IQ3_XXS',
  24: 'MOSTLY_IQ1_S',
  25: 'MOSTLY_IQ4_NL',
  26: 'MOSTLY_IQ3_S',
  27: 'MOSTLY_IQ3_M',
  28: 'MOSTLY_IQ2_S',
  29: 'MOSTLY_IQ2_M',
  30: 'MOSTLY_IQ4_XS',
  31: 'MOSTLY_IQ1_M',
  32: 'MOSTLY_BF16',
  36: 'MOSTLY_TQ1_0',
  37: 'MOSTLY_TQ2_0',
  38: 'MOSTLY_MXFP4_MOE',
};

/** ggml tensor types (enum ggml_type). */
const TENSOR_TYPES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  8: 'Q8_0',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  30: 'BF16',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

/** A metadata value; arrays keep only their element type and length (the vocabulary is not kept). */
export type GgufValue = number | bigint | boolean | string | { array: number; length: number };

export interface GgufHeader {
  file: string;
  fileSize: number;
  version: number;
  tensorCount: number;
  metadata: Map<string, GgufValue>;
  parameters: number;
  tensorTypes: string[];
  fileType: string | undefined;
  /** Whether an `output.weight` tensor exists (absent when the output shares the token embedding). */
  hasOutputTensor: boolean;
}

const SCALAR_BYTES: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
/** Far beyond any real model, small enough to refuse a hostile header before looping over it. */
const MAX_COUNT = 10_000_000;
const MAX_STRING = 64 * 1024 * 1024;

/** Reads a GGUF file's header, metadata and tensor infos sequentially; tensor data is never read. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const fh = await openReadOnly(path);
  try {
    const fileSize = (await fh.stat()).size;
    const r = new SequentialReader(fh, fileSize, basename(path));
    if ((await r.bytes(4)).toString('latin1') !== 'GGUF') throw r.fail('does not start with "GGUF"');
    const version = await r.u32();
    if (version < 1 || version > 3) throw r.fail(`has GGUF version ${version}; Berth reads versions 1 to 3`);
    const count = () => (version === 1 ? r.u32() : r.u64());
    const tensorCount = await count();
    const kvCount = await count();
    if (tensorCount > MAX_COUNT || kvCount > MAX_COUNT)
      throw r.fail('claims an impossible number of entries');
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = await r.string();
      metadata.set(key, await r.value(await r.u32()));
    }
    let parameters = 0;
    let hasOutput = false;
    const types = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
      if ((await r.string()) === 'output.weight') hasOutput = true;
      const dims = await r.u32();
      if (dims > 8) throw r.fail(`has a tensor with ${dims} dimensions`);
      let elements = 1;
      for (let d = 0; d < dims; d++) elements *= await r.u64();
      const type = await r.u32();
      await r.u64();
      parameters += elements;
      types.add(TENSOR_TYPES[type] ?? `type-${type}`);
    }
    const ft = metadata.get('general.file_type');
    return {
      file: basename(path),
      fileSize,
      version,
      tensorCount,
      metadata,
      parameters,
      tensorTypes: [...types].sort(),
      hasOutputTensor: hasOutput,
      fileType: typeof ft === 'number' ? (FILE_TYPES[ft] ?? `type-${ft}`) : undefined,
    };
  } finally {
    await fh.close();
  }
}

/** Buffered forward reads over a file handle, refusing to run past the end. */
class SequentialReader {
  private buffer: Buffer = Buffer.alloc(0);
  private bufferStart = 0;
  private pos = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly name: string,
  ) {}

  fail(what: string): BerthError {
    return new BerthError('GGUF_INVALID', `${this.name} ${what}`, 'The file is damaged or not a GGUF file.');
  }

  async bytes(n: number): Promise<Buffer> {
    if (this.pos + n > this.size) throw this.fail(`ends early (needed byte ${this.pos + n} of ${this.size})`);
    const offset = this.pos - this.bufferStart;
    if (offset + n > this.buffer.length) {
      this.buffer = await readAt(this.fh, this.pos, Math.max(n, 256 * 1024));
      this.bufferStart = this.pos;
    }
    const start = this.pos - this.bufferStart;
    this.pos += n;
    return this.buffer.subarray(start, start + n);
  }

  skip(n: number): void {
    if (this.pos + n > this.size) throw this.fail('ends inside its metadata');
    this.pos += n;
  }

  async u32(): Promise<number> {
    return (await this.bytes(4)).readUInt32LE(0);
  }

  async u64(): Promise<number> {
    const v = (await this.bytes(8)).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail('holds a count too large to be real');
    return Number(v);
  }

  async string(): Promise<string> {
    const n = await this.u64();
    if (n > MAX_STRING) throw this.fail(`holds a ${n} byte string`);
    return (await this.bytes(n)).toString('utf8');
  }

  async value(type: number): Promise<GgufValue> {
    switch (type) {
      case 0:
        return (await this.bytes(1)).readUInt8(0);
      case 1:
        return (await this.bytes(1)).readInt8(0);
      case 2:
        return (await this.bytes(2)).readUInt16LE(0);
      case 3:
        return (await this.bytes(2)).readInt16LE(0);
      case 4:
        return this.u32();
      case 5:
        return (await this.bytes(4)).readInt32LE(0);
      case 6:
        return (await this.bytes(4)).readFloatLE(0);
      case 7:
        return (await this.bytes(1)).readUInt8(0) !== 0;
      case 8:
        return this.string();
      case 9:
        return this.array();
      case 10:
        return (await this.bytes(8)).readBigUInt64LE(0);
      case 11:
        return (await this.bytes(8)).readBigInt64LE(0);
      case 12:
        return (await this.bytes(8)).readDoubleLE(0);
      default:
        throw this.fail(`has a metadata value of unknown type ${type}`);
    }
  }

  /** Arrays (the vocabulary, merges) are skipped: only their type and length are kept. */
  private async array(): Promise<{ array: number; length: number }> {
    const type = await this.u32();
    const length = await this.u64();
    if (length > MAX_COUNT * 10) throw this.fail(`holds an array of ${length} entries`);
    const fixed = SCALAR_BYTES[type];
    if (fixed !== undefined) this.skip(fixed * length);
    else if (type === 8) for (let i = 0; i < length; i++) this.skip(await this.u64());
    else for (let i = 0; i < length; i++) await this.value(type);
    return { array: type, length };
  }
}
