import { basename } from 'node:path';
import { BerthError } from '../errors.js';
import { isRecord, openReadOnly, readAt } from './files.js';

/** Bytes per element of each safetensors dtype; sub-byte types carry fractions. */
export const SAFETENSORS_DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
  F4: 0.5,
  F6_E2M3: 0.75,
  F6_E3M2: 0.75,
};

/** safetensors itself refuses headers over 100 MB; a 70B model's header is well under 1 MB. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  headerSize: number;
  tensors: TensorEntry[];
  metadata: Record<string, string>;
  parameters: number;
}

/**
 * Reads a .safetensors header (8-byte little-endian length, then JSON) without touching tensor data, and
 * checks it against the file: header inside the file, known dtypes, shapes matching byte ranges, ranges
 * inside the data section and not overlapping.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openReadOnly(path);
  try {
    const fileSize = (await fh.stat()).size;
    const name = basename(path);
    if (fileSize < 8)
      throw invalid(
        'SAFETENSORS_TRUNCATED',
        `${name} is ${fileSize} bytes, too short for a safetensors file`,
      );
    const lengthBytes = await readAt(fh, 0, 8);
    const headerSize = lengthBytes.readBigUInt64LE(0);
    if (headerSize > BigInt(MAX_HEADER_BYTES)) {
      throw invalid(
        'SAFETENSORS_HEADER_TOO_LARGE',
        `${name} claims a ${headerSize} byte header; safetensors headers are at most 100 MB`,
      );
    }
    const size = Number(headerSize);
    if (size > fileSize - 8) {
      throw invalid(
        'SAFETENSORS_TRUNCATED',
        `${name} claims a ${size} byte header but the file has only ${fileSize - 8} bytes after the length`,
      );
    }
    const raw = await readAt(fh, 8, size);
    return parseHeader(name, raw, fileSize, size);
  } finally {
    await fh.close();
  }
}

function parseHeader(file: string, raw: Buffer, fileSize: number, headerSize: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw invalid(
      'SAFETENSORS_HEADER_INVALID',
      `${file}: the header is not JSON (${(error as Error).message})`,
    );
  }
  if (!isRecord(json))
    throw invalid('SAFETENSORS_HEADER_INVALID', `${file}: the header is not a JSON object`);
  const dataSize = fileSize - 8 - headerSize;
  const tensors: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  let parameters = 0;
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (isRecord(value))
        metadata = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const tensor = parseTensor(file, name, value);
    const perElement = SAFETENSORS_DTYPE_BYTES[tensor.dtype];
    if (perElement === undefined) {
      throw invalid(
        'UNKNOWN_DTYPE',
        `${file}: tensor ${name} has dtype ${tensor.dtype}, which Berth does not know`,
        `Known dtypes: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')}.`,
      );
    }
    if (tensor.end > dataSize) {
      throw invalid(
        'TENSOR_OUT_OF_BOUNDS',
        `${file}: tensor ${name} ends at byte ${tensor.end} of a ${dataSize} byte data section`,
        'The file is truncated (an interrupted copy or save?). Copy or save it again.',
      );
    }
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (Math.ceil(elements * perElement) !== tensor.end - tensor.begin) {
      throw invalid(
        'SAFETENSORS_HEADER_INVALID',
        `${file}: tensor ${name} (${tensor.dtype} [${tensor.shape.join(', ')}]) needs ${Math.ceil(elements * perElement)} bytes but its range holds ${tensor.end - tensor.begin}`,
      );
    }
    parameters += elements;
    tensors.push(tensor);
  }
  checkOverlaps(file, tensors);
  return { file, fileSize, headerSize, tensors, metadata, parameters };
}

function parseTensor(file: string, name: string, value: unknown): TensorEntry {
  const bad = (what: string) => invalid('SAFETENSORS_HEADER_INVALID', `${file}: tensor ${name} has ${what}`);
  if (!isRecord(value)) throw bad('no description');
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw bad('no dtype');
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw bad('a bad shape');
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  )
    throw bad('bad data_offsets');
  return { name, dtype, shape: shape as number[], begin: offsets[0] as number, end: offsets[1] as number };
}

function checkOverlaps(file: string, tensors: TensorEntry[]): void {
  const sorted = [...tensors].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as TensorEntry;
    const cur = sorted[i] as TensorEntry;
    if (cur.begin < prev.end) {
      throw invalid(
        'TENSOR_OVERLAP',
        `${file}: tensors ${prev.name} and ${cur.name} share bytes ${cur.begin}-${Math.min(prev.end, cur.end)}`,
        'The file is corrupt; save the model again.',
      );
    }
  }
}

function invalid(code: string, message: string, hint?: string): BerthError {
  return new BerthError(
    code,
    message,
    hint ?? 'The file is damaged or not a safetensors file; save the model again.',
  );
}
