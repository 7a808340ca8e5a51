// Part of the Ollama stand-in (tests only; NOT Ollama): what `ollama create` reads from a GGUF.
import { open } from 'node:fs/promises';

/** GGUF general.file_type -> the quantization_level Ollama reports. */
const FILE_TYPES = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  32: 'BF16',
};
/** Reads a GGUF's metadata the way `ollama create` parses it; errors read like Ollama's. */
export async function parseGguf(path) {
  const { readGgufFileInfo } = await import('node-llama-cpp');
  const header = Buffer.alloc(8);
  const fd = await open(path, 'r');
  try {
    await fd.read(header, 0, 8, 0);
  } finally {
    await fd.close();
  }
  if (header.toString('latin1', 0, 4) !== 'GGUF') throw new Error('invalid file magic');
  const version = header.readUInt32LE(4);
  if (version < 2 || version > 3) throw new Error(`unsupported GGUF version ${version}`);
  const info = await readGgufFileInfo(path, { readTensorInfo: false });
  const architecture = info.metadata.general?.architecture ?? 'unknown';
  return {
    type: info.metadata.general?.type ?? 'model',
    architecture,
    file_type: FILE_TYPES[info.metadata.general?.file_type] ?? 'unknown',
    parameter_size: info.metadata.general?.size_label ?? '',
    context_length: info.architectureMetadata?.context_length,
  };
}
