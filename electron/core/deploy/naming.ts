import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/** A served-model name from a checkpoint path: "runs/My Run/checkpoint-500" -> "my-run-checkpoint-500". */
export function defaultModelName(jobName: string | undefined, modelPath: string, relative?: string): string {
  const parts = [jobName ?? basename(modelPath)];
  if (relative && relative !== '.') parts.push(basename(relative));
  const slug = parts
    .join('-')
    .toLowerCase()
    .replace(/\.gguf$/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|-+$/g, '')
    .replace(/-{2,}/g, '-')
    .slice(0, 64);
  return slug || 'model';
}

/**
 * A stable model id: the same checkpoint in the same format gets the same uuid across redeploys, so a script
 * can tell "same model, new server" from "new model". Formatted as an RFC 4122 name-based (v5-style) uuid.
 */
export function modelId(modelPath: string, format: string): string {
  const h = createHash('sha1').update(`${modelPath}\0${format}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
