import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MODEL_FILE = /\.(safetensors|bin|json|model|jinja|txt)$/;

/** The bytes of a .safetensors header (what tensors it holds, with dtypes, shapes and offsets). */
function safetensorsHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) return Buffer.alloc(0);
    const n = Number(len.readBigUInt64LE(0));
    if (n > 100 * 1024 * 1024) return Buffer.alloc(0);
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    return header;
  } finally {
    closeSync(fd);
  }
}

/**
 * A checkpoint's identity without reading its weights: file names, sizes and mtimes plus each safetensors header's
 * hash. A re-save of the same folder changes it; an untouched folder keeps it.
 */
export function checkpointFingerprint(modelPath: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(modelPath).sort()) {
    if (!MODEL_FILE.test(name)) continue;
    const path = join(modelPath, name);
    const st = statSync(path);
    if (!st.isFile()) continue;
    hash.update(`${name}\0${st.size}\0${Math.trunc(st.mtimeMs)}\n`);
    if (name.endsWith('.safetensors'))
      hash.update(createHash('sha256').update(safetensorsHeader(path)).digest());
  }
  return hash.digest('hex');
}

/** The cache key: fingerprint, output type and converter version. */
export function cacheKey(fingerprint: string, quantization: string, converterVersion: string): string {
  return createHash('sha256')
    .update(`${fingerprint}|${quantization}|${converterVersion}`)
    .digest('hex')
    .slice(0, 32);
}
