import { open } from 'node:fs/promises';

/**
 * Checks a GGUF's fixed header before node-llama-cpp reads it: its reader waits forever on some corrupt files
 * (e.g. a wrong version number) instead of failing, so the obvious cases are refused here with a reason.
 * Returns undefined when the header is plausible, else what is wrong.
 */
export async function ggufHeaderProblem(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(24), 0, 24, 0);
    if (bytesRead < 24) return `the file is ${size} bytes, shorter than a GGUF header`;
    if (buffer.toString('latin1', 0, 4) !== 'GGUF') return 'the file does not start with "GGUF"';
    const version = buffer.readUInt32LE(4);
    if (version < 2 || version > 3)
      return `unsupported GGUF version ${version} (the file is corrupt or too new)`;
    const tensors = buffer.readBigUInt64LE(8);
    const keys = buffer.readBigUInt64LE(16);
    // Every tensor and metadata key takes well over 8 bytes of header: more than that cannot fit in the file.
    if (tensors * 8n > BigInt(size) || keys * 8n > BigInt(size)) {
      return `the header announces ${tensors} tensors and ${keys} metadata keys, more than ${size} bytes can hold (truncated or corrupt)`;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}
