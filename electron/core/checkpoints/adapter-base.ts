import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { BerthError } from '../errors.js';
import { isRecord, readJsonFile } from './files.js';
import { readSafetensorsHeader, type TensorEntry } from './safetensors.js';

/**
 * The folder of a hub id in the local Hugging Face cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `~/.cache/huggingface/hub`, then `models--org--name/snapshots/<rev>`, the revision `refs/main` names first
 * (what `from_pretrained` loads), else the newest snapshot holding a config.json.
 */
export function hubSnapshot(id: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!/^[\w.-]+\/[\w.-]+$/.test(id)) return undefined;
  const hub =
    env.HF_HUB_CACHE ?? join(env.HF_HOME ?? join(env.HOME ?? homedir(), '.cache', 'huggingface'), 'hub');
  const repo = join(hub, `models--${id.replace('/', '--')}`);
  const hasConfig = (dir: string) => existsSync(join(dir, 'config.json'));
  try {
    const main = readFileSync(join(repo, 'refs', 'main'), 'utf8').trim();
    if (/^[\w.-]+$/.test(main) && hasConfig(join(repo, 'snapshots', main)))
      return join(repo, 'snapshots', main);
  } catch {
    // no refs/main: fall back to the snapshots themselves
  }
  try {
    const snapshots = readdirSync(join(repo, 'snapshots'))
      .map((rev) => join(repo, 'snapshots', rev))
      .filter(hasConfig)
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    return snapshots[0];
  } catch {
    return undefined; // no such cache entry
  }
}

/** The error for an adapter whose base is not on this machine, saying the three ways to give it. */
export function baseNotFound(base: string): BerthError {
  return new BerthError(
    'ADAPTER_BASE_MISSING',
    `The adapter's base model "${base}" is not on this machine (not a folder, not in the Hugging Face cache)`,
    `Give the base model's folder: "base_model_path" in the API, --base <path> in the CLI, or the Base model field of the deploy form (or download it: huggingface-cli download ${base}).`,
    { base_model: base },
  );
}

/** The base folder a deploy uses: the one the request names, else the one found from adapter_config.json. */
export function resolveBaseFolder(base: string, found: string | undefined, requested?: string): string {
  if (requested !== undefined) {
    if (!isAbsolute(requested))
      throw new BerthError('INVALID_REQUEST', `base_model_path must be absolute: ${requested}`);
    if (!existsSync(join(requested, 'config.json'))) {
      throw new BerthError(
        'ADAPTER_BASE_MISSING',
        `${requested} is not a model folder (no config.json)`,
        'Pick the folder of the model the adapter was trained on.',
      );
    }
    return requested;
  }
  if (!found) throw baseNotFound(base);
  return found;
}

/** What the check learned about an adapter: what deploy, fit and vLLM's flags need. */
export interface AdapterFacts {
  /** The largest rank of any adapted module (vLLM's --max-lora-rank must be at least this). */
  rank: number;
  alpha: number;
  rslora: boolean;
  /** Base weights the adapter changes with a LoRA pair, by HF name. */
  adapted: string[];
  /** Full tensors the adapter replaces (modules_to_save). */
  modules_to_save: string[];
  /** Bytes of the adapter's weights (its safetensors data), and their count. */
  adapter_bytes: number;
  adapter_parameters: number;
  /** The base model's parameter count (its safetensors headers). */
  base_parameters: number;
  base: { architecture: string; hidden_size: number; layers: number };
}

const LORA_SUFFIX = /\.(lora_A\.weight|lora_B\.weight|lora_embedding_A|lora_embedding_B)$/;
/** Modules llama.cpp has a GGUF tensor for, in the architectures Berth converts. */
const GGUF_MODULES = new Set([
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'qkv_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
  'gate_up_proj',
  'lm_head',
  'embed_tokens',
]);

function unsupported(message: string, hint: string): BerthError {
  return new BerthError('ADAPTER_UNSUPPORTED', message, hint);
}

async function baseTensors(baseDir: string): Promise<{ shapes: Map<string, number[]>; parameters: number }> {
  const files = (await readdir(baseDir)).filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 0) {
    throw new BerthError(
      'WEIGHTS_MISSING',
      `The base model ${baseDir} has no .safetensors weights`,
      'Pick the base folder that holds the weights (a Hugging Face download or save_pretrained()).',
    );
  }
  const shapes = new Map<string, number[]>();
  let parameters = 0;
  for (const f of files) {
    const header = await readSafetensorsHeader(join(baseDir, f));
    parameters += header.parameters;
    for (const t of header.tensors) shapes.set(t.name, t.shape);
  }
  return { shapes, parameters };
}

/**
 * Checks an adapter against a base before any work, from adapter_config.json and both safetensors headers:
 * every adapted module exists in the base with the shape the adapter implies (architecture, hidden size and
 * layer count follow from that), and, for the GGUF backends, that llama.cpp can run it: no DoRA, no
 * fan_in_fan_out, no LoRA bias, only modules it maps. A mismatch is ADAPTER_BASE_MISMATCH naming both shapes.
 */
export async function checkAdapterBase(
  adapterDir: string,
  baseDir: string,
  forGguf: boolean,
): Promise<AdapterFacts> {
  const config = await readJsonFile(join(adapterDir, 'adapter_config.json'), 'ADAPTER_INVALID');
  if (!isRecord(config)) throw new BerthError('ADAPTER_INVALID', 'adapter_config.json is not an object');
  const baseConfig = await readJsonFile(join(baseDir, 'config.json'), 'CONFIG_INVALID');
  if (!isRecord(baseConfig))
    throw new BerthError('CONFIG_INVALID', `${baseDir}/config.json is not an object`);
  const text = isRecord(baseConfig.text_config) ? { ...baseConfig, ...baseConfig.text_config } : baseConfig;
  const base = {
    architecture: Array.isArray(text.architectures) ? String(text.architectures[0]) : String(text.model_type),
    hidden_size: Number(text.hidden_size),
    layers: Number(text.num_hidden_layers),
  };
  const targets = Array.isArray(config.target_modules)
    ? config.target_modules.join(', ')
    : String(config.target_modules ?? 'its modules');
  if (forGguf && config.use_dora === true) {
    throw unsupported(
      `DoRA adapter (use_dora) on ${targets}: llama.cpp has no weight-decomposed LoRA`,
      'Deploy it with vllm, or merge it with PEFT (merge_and_unload()) and deploy the merged folder.',
    );
  }
  if (config.fan_in_fan_out === true) {
    throw unsupported(
      `fan_in_fan_out layers (${targets}) hold transposed weights (GPT-2 Conv1D style), which ${base.architecture} does not have`,
      'Check that the adapter was trained on this base model.',
    );
  }
  const weights = join(adapterDir, 'adapter_model.safetensors');
  if (!existsSync(weights)) {
    throw new BerthError(
      'ADAPTER_INVALID',
      `No adapter_model.safetensors in ${adapterDir}`,
      'Save the adapter with PEFT (safe_serialization=True).',
    );
  }
  const header = await readSafetensorsHeader(weights);
  const { shapes: baseShapes, parameters: baseParameters } = await baseTensors(baseDir);
  const tied = text.tie_word_embeddings === true;
  const lookup = (name: string) =>
    baseShapes.get(name) ??
    (name === 'lm_head.weight' && tied ? baseShapes.get('model.embed_tokens.weight') : undefined);
  const mismatch = (module: string, adapterShape: number[], baseShape: number[] | undefined) =>
    new BerthError(
      'ADAPTER_BASE_MISMATCH',
      `The adapter does not fit this base model: ${module} is [${adapterShape.join(', ')}] in the adapter, ${
        baseShape ? `[${baseShape.join(', ')}]` : 'missing'
      } in the base (${base.architecture}, hidden ${base.hidden_size}, ${base.layers} layers)`,
      'Pick the base model the adapter was trained on (base_model_name_or_path in adapter_config.json).',
      { module, adapter_shape: adapterShape, base_shape: baseShape ?? null, base },
    );

  const pairs = new Map<string, { a?: TensorEntry; b?: TensorEntry; embedding: boolean }>();
  const saved: string[] = [];
  for (const t of header.tensors) {
    const name = t.name.replace(/^base_model\.model\./, '');
    if (name.includes('lora_magnitude_vector')) {
      if (!forGguf) continue;
      throw unsupported(
        `DoRA magnitude vector for ${name.split('.lora_magnitude')[0]}`,
        'Deploy it with vllm, or merge it with PEFT and deploy the merge.',
      );
    }
    const m = LORA_SUFFIX.exec(name);
    if (m) {
      const weight = `${name.slice(0, m.index)}.weight`;
      const pair = pairs.get(weight) ?? { embedding: false };
      if (m[1]?.includes('_A')) pair.a = t;
      else pair.b = t;
      pair.embedding ||= m[1]?.startsWith('lora_embedding') ?? false;
      pairs.set(weight, pair);
    } else if (name.endsWith('.lora_B.bias')) {
      if (forGguf)
        throw unsupported(
          `LoRA bias (lora_bias) on ${name.slice(0, -'.lora_B.bias'.length)}`,
          'llama.cpp adapters have no bias term; deploy it merged with PEFT, or with vllm.',
        );
    } else if (name.endsWith('.base_layer.weight')) {
      const baseName = name.replace('.base_layer.weight', '.weight');
      if (String(lookup(baseName)) !== String(t.shape)) throw mismatch(baseName, t.shape, lookup(baseName));
    } else {
      if (lookup(name) && String(lookup(name)) !== String(t.shape))
        throw mismatch(name, t.shape, lookup(name));
      if (!lookup(name)) throw mismatch(name, t.shape, undefined);
      saved.push(name);
    }
  }
  let rank = 0;
  for (const [weight, pair] of pairs) {
    const module = weight.slice(0, -'.weight'.length);
    if (!pair.a || !pair.b)
      throw new BerthError('ADAPTER_INVALID', `${module} lacks its lora_${pair.a ? 'B' : 'A'} tensor`);
    const r = pair.a.shape[0] ?? 0;
    rank = Math.max(rank, r);
    const implied = pair.embedding
      ? [pair.a.shape[1] ?? 0, pair.b.shape[0] ?? 0]
      : [pair.b.shape[0] ?? 0, pair.a.shape[1] ?? 0];
    const baseShape = lookup(weight);
    if (!baseShape || String(baseShape) !== String(implied)) throw mismatch(module, implied, baseShape);
    const leaf = module.split('.').at(-1) ?? module;
    if (forGguf && !GGUF_MODULES.has(leaf)) {
      throw unsupported(
        `The adapter changes ${module}, which llama.cpp cannot map to a GGUF tensor`,
        'Deploy it with vllm, which applies any PEFT LoRA module.',
      );
    }
  }
  if (pairs.size === 0 && saved.length === 0)
    throw new BerthError('ADAPTER_INVALID', `${weights} holds no LoRA tensors`);
  const dataBytes = header.fileSize - header.headerSize - 8;
  return {
    rank: rank || Number(config.r) || 0,
    alpha: Number(config.lora_alpha ?? config.r),
    rslora: config.use_rslora === true,
    adapted: [...pairs.keys()].sort(),
    modules_to_save: saved.sort(),
    adapter_bytes: dataBytes,
    adapter_parameters: header.parameters,
    base_parameters: baseParameters,
    base,
  };
}
