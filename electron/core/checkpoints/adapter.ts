import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { LoraInfo } from '../../../shared/checkpoints.js';
import { BerthError } from '../errors.js';
import { baseNotFound, hubSnapshot } from './adapter-base.js';
import { isRecord } from './files.js';

/** adapter_config.json, read leniently; throws ADAPTER_INVALID when it is not a LoRA adapter config. */
export function parseAdapterConfig(json: unknown): Omit<LoraInfo, 'base_model_path'> {
  if (!isRecord(json)) throw new BerthError('ADAPTER_INVALID', 'adapter_config.json is not a JSON object');
  const peftType = typeof json.peft_type === 'string' ? json.peft_type : 'LORA';
  if (peftType !== 'LORA') {
    throw new BerthError(
      'ADAPTER_INVALID',
      `This is a ${peftType} adapter; Berth handles LoRA adapters`,
      'Merge it into its base model (model.merge_and_unload()) and save the result.',
    );
  }
  const rank = json.r;
  const base = json.base_model_name_or_path;
  if (typeof rank !== 'number' || typeof base !== 'string' || base.length === 0) {
    throw new BerthError(
      'ADAPTER_INVALID',
      'adapter_config.json lacks "r" or "base_model_name_or_path"',
      'Save the adapter again with PEFT (model.save_pretrained()).',
    );
  }
  const targets = json.target_modules;
  return {
    rank,
    alpha: typeof json.lora_alpha === 'number' ? json.lora_alpha : rank,
    target_modules: Array.isArray(targets)
      ? targets.map(String)
      : typeof targets === 'string'
        ? [targets]
        : [],
    base_model: base,
    ...(typeof json.task_type === 'string' ? { task_type: json.task_type } : {}),
  };
}

/**
 * Finds an adapter's base model on this machine: an absolute path, a path relative to the adapter (or its
 * run), or a hub id already in the Hugging Face cache. Undefined when it is not here.
 */
export function findBaseModel(base: string, adapterDir: string, env: NodeJS.ProcessEnv): string | undefined {
  const hasConfig = (dir: string) => existsSync(join(dir, 'config.json'));
  if (isAbsolute(base)) return hasConfig(base) ? base : undefined;
  for (const from of [adapterDir, dirname(adapterDir)]) {
    const candidate = resolve(from, base);
    if (hasConfig(candidate)) return candidate;
  }
  return hubSnapshot(base, env);
}

/** The error an adapter gets when its base is missing. */
export function baseMissing(base: string): BerthError {
  return baseNotFound(base);
}
