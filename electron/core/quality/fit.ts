import type { ModelShape } from '../../../shared/checkpoints.js';
import type { Fit, SystemReport } from '../../../shared/system.js';
import {
  fitOf,
  freeBytes,
  gib,
  kvCacheBytes,
  llamaCppOverheadBytes,
  usableGpus,
} from '../hardware/memory.js';

/**
 * Whether a GGUF of `bytes` fits on this machine in llama.cpp, with the recommendation's memory model: weights +
 * F16 KV cache for `context` + llama.cpp's overhead, against the largest GPU's free VRAM, else free RAM.
 */
export function ggufFit(
  bytes: number,
  shape: ModelShape,
  system: SystemReport,
  context: number,
): { fit: Fit; detail: string } {
  const kv = kvCacheBytes(shape, context, 2);
  const gpu = usableGpus(system.gpus).sort((a, b) => freeBytes(b) - freeBytes(a))[0];
  const available = gpu ? freeBytes(gpu) : system.memory.free_bytes;
  const overhead = llamaCppOverheadBytes(shape, gpu ? 1 : 0);
  const needed = bytes + kv + overhead;
  const where = gpu ? `${gpu.name} VRAM` : 'RAM';
  return {
    fit: fitOf(needed, available),
    detail: `${gib(bytes)} + ${gib(kv)} KV cache (context ${context}) + ${gib(overhead)} overhead = ${gib(needed)}, against ${gib(available)} free ${where}`,
  };
}
