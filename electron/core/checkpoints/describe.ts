import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, LoraInfo, ModelShape, TrainingInfo } from '../../../shared/checkpoints.js';
import type { BerthErrorShape } from '../../../shared/errors.js';
import { BerthError } from '../errors.js';
import { baseMissing, findBaseModel, parseAdapterConfig } from './adapter.js';
import { ggufVerdict, vllmVerdict } from './capabilities.js';
import {
  fsError,
  irregularModelFiles,
  isRecord,
  JSON_LIMITS,
  mapLimit,
  readJsonFile,
  statOrThrow,
} from './files.js';
import { readSafetensorsHeader } from './safetensors.js';
import { configIdentity, modelShape } from './shape.js';
import { describeTokenizer } from './tokenizer.js';
import { parseTrainerState, type TrainerState, trainingInfo } from './trainer-state.js';

/** What describing a folder needs from outside: the environment (for the Hugging Face cache). */
export interface DescribeOptions {
  env: NodeJS.ProcessEnv;
}

/** A folder's description plus its parsed trainer state (the run uses it for the loss curve and best pick). */
export interface DescribedFolder {
  checkpoint: Checkpoint;
  trainerState: TrainerState | undefined;
}

/** Whether a file list looks like a model or adapter folder. */
export function looksLikeModel(files: Iterable<string>): boolean {
  for (const f of files) {
    if (f === 'config.json' || f === 'adapter_config.json' || f === 'model.safetensors.index.json')
      return true;
    if (f.endsWith('.safetensors') || /^pytorch_model.*\.bin$/.test(f)) return true;
  }
  return false;
}

/**
 * Describes one model folder, adapter folder or checkpoint: reads config.json, the safetensors headers (never
 * tensor data), the tokenizer files and trainer_state.json. Problems are recorded in `errors` with their codes;
 * only a folder that cannot be listed at all throws.
 */
export async function describeFolder(
  dir: string,
  relativePath: string,
  options: DescribeOptions,
): Promise<DescribedFolder> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw fsError(error, dir);
  }
  const errors: BerthErrorShape[] = [];
  // A FIFO, socket or device among the model's files is an error naming it, and is never opened.
  const irregular = await irregularModelFiles(dir, names);
  for (const e of irregular) errors.push(e.error);
  const files = new Set(names.filter((n) => !irregular.some((e) => e.name === n)));
  const warnings: string[] = [];
  const record = (error: unknown, path: string) => errors.push(fsError(error, path).toJSON());

  const isAdapter = files.has('adapter_config.json');
  let kind: Checkpoint['kind'] = isAdapter ? 'lora-adapter' : 'hf-model';
  let identity: { architecture: string; model_type: string } | undefined;
  let shape: ModelShape | undefined;
  let lora: LoraInfo | undefined;

  if (isAdapter) {
    try {
      const parsed = parseAdapterConfig(
        await readJsonFile(join(dir, 'adapter_config.json'), 'ADAPTER_INVALID'),
      );
      const basePath = findBaseModel(parsed.base_model, dir, options.env);
      lora = { ...parsed, ...(basePath ? { base_model_path: basePath } : {}) };
      if (!basePath) errors.push(baseMissing(parsed.base_model).toJSON());
      else {
        const base = await readConfig(basePath);
        identity = base.identity;
        shape = base.shape;
      }
    } catch (error) {
      record(error, join(dir, 'adapter_config.json'));
    }
  } else if (files.has('config.json')) {
    try {
      const config = await readConfig(dir);
      identity = config.identity;
      shape = config.shape;
    } catch (error) {
      record(error, join(dir, 'config.json'));
    }
  } else if (!irregular.some((e) => e.name === 'config.json')) {
    errors.push(
      new BerthError(
        'CONFIG_MISSING',
        `No config.json in ${dir}`,
        'Pick the folder that holds config.json.',
      ).toJSON(),
    );
  }

  const weights = await readWeights(dir, files, isAdapter);
  errors.push(...weights.errors);
  if (weights.binOnly) {
    kind = 'bin-only';
    warnings.push(
      'Only pytorch_model*.bin weights: described from config.json (no exact parameter count). vLLM loads .bin; ' +
        'the GGUF converter needs safetensors: re-save with save_pretrained().',
    );
  }

  let trainerState: TrainerState | undefined;
  let training: TrainingInfo | undefined;
  if (files.has('trainer_state.json')) {
    try {
      trainerState = parseTrainerState(
        await readJsonFile(join(dir, 'trainer_state.json'), 'CONFIG_INVALID', JSON_LIMITS.trainerState),
      );
      training = trainingInfo(trainerState);
    } catch (error) {
      warnings.push(`trainer_state.json unreadable: ${(error as Error).message}`);
    }
  }
  const tokenizer =
    isAdapter && !files.has('tokenizer_config.json') ? undefined : await describeTokenizer(dir, files);
  const folderStep = /^checkpoint-(\d+)$/.exec(relativePath.split('/').pop() ?? '')?.[1];
  const step = folderStep !== undefined ? Number(folderStep) : training?.global_step;
  const dtypes = weights.dtypes.length > 0 ? weights.dtypes : shape?.torch_dtype ? [shape.torch_dtype] : [];

  const verdictInput = {
    kind,
    architecture: identity?.architecture,
    hasErrors: errors.length > 0,
    baseFound: lora?.base_model_path !== undefined,
  };
  const checkpoint: Checkpoint = {
    relative_path: relativePath,
    path: dir,
    kind,
    ...(identity ? { architecture: identity.architecture, model_type: identity.model_type } : {}),
    ...(shape ? { shape } : {}),
    ...(step !== undefined ? { step } : {}),
    size_bytes: weights.bytes,
    ...(weights.parameters !== undefined ? { parameters: weights.parameters } : {}),
    ...(activeParameters(weights, shape) !== undefined
      ? { active_parameters: activeParameters(weights, shape) }
      : {}),
    dtypes,
    vllm_servable: vllmVerdict(verdictInput),
    gguf_convertible: ggufVerdict(verdictInput),
    errors,
    warnings,
    weight_files: weights.files,
    ...(tokenizer ? { tokenizer } : {}),
    ...(training ? { training } : {}),
    ...(lora ? { lora } : {}),
    is_best: false,
    is_final: false,
  };
  return { checkpoint, trainerState };
}

async function readConfig(
  dir: string,
): Promise<{ identity: { architecture: string; model_type: string }; shape: ModelShape }> {
  const config = await readJsonFile(join(dir, 'config.json'), 'CONFIG_INVALID');
  const identity = configIdentity(config);
  return { identity, shape: modelShape(config as Record<string, unknown>) };
}

interface Weights {
  files: string[];
  bytes: number;
  parameters: number | undefined;
  /** Parameters in routed-expert tensors (mixture of experts), all experts together. */
  expertParameters?: number;
  dtypes: string[];
  binOnly: boolean;
  errors: BerthErrorShape[];
}

/** The weight files of a folder: the shards an index names, else the safetensors files, else .bin files. */
async function readWeights(dir: string, files: Set<string>, isAdapter: boolean): Promise<Weights> {
  const errors: BerthErrorShape[] = [];
  let shards: string[] = [];
  const indexName = isAdapter ? undefined : 'model.safetensors.index.json';
  if (indexName && files.has(indexName)) {
    try {
      const index = await readJsonFile(join(dir, indexName), 'SAFETENSORS_HEADER_INVALID', JSON_LIMITS.index);
      const map = isRecord(index) && isRecord(index.weight_map) ? index.weight_map : undefined;
      if (!map)
        throw new BerthError(
          'SAFETENSORS_HEADER_INVALID',
          `${indexName} has no weight_map`,
          'Save the model again.',
        );
      shards = [...new Set(Object.values(map).map(String))].sort();
      for (const shard of shards) {
        if (!files.has(shard)) {
          errors.push(
            new BerthError(
              'SHARD_MISSING',
              `${indexName} names ${shard}, which is not in the folder`,
              'Copy the missing shard (an interrupted download or copy?), or save the model again.',
            ).toJSON(),
          );
        }
      }
      shards = shards.filter((s) => files.has(s));
    } catch (error) {
      errors.push(fsError(error, join(dir, indexName)).toJSON());
    }
  } else {
    const all = [...files].filter((f) => f.endsWith('.safetensors'));
    const preferred = isAdapter
      ? all.filter((f) => f.startsWith('adapter_model'))
      : all.filter((f) => f.startsWith('model'));
    shards = (preferred.length > 0 ? preferred : all).sort();
  }
  if (shards.length > 0 || errors.length > 0) {
    let bytes = 0;
    let parameters = 0;
    let expertParameters = 0;
    const dtypes = new Set<string>();
    await mapLimit(shards, 4, async (shard) => {
      try {
        const header = await readSafetensorsHeader(join(dir, shard));
        bytes += header.fileSize;
        parameters += header.parameters;
        for (const t of header.tensors) {
          dtypes.add(t.dtype);
          if (isRoutedExpert(t.name)) expertParameters += t.shape.reduce((p, d) => p * d, 1);
        }
      } catch (error) {
        errors.push(fsError(error, join(dir, shard)).toJSON());
      }
    });
    return {
      files: shards,
      bytes,
      parameters,
      expertParameters,
      dtypes: [...dtypes].sort(),
      binOnly: false,
      errors,
    };
  }
  const bins = [...files].filter((f) => /^(pytorch_model|adapter_model).*\.bin$/.test(f)).sort();
  if (bins.length > 0) {
    let bytes = 0;
    for (const bin of bins) {
      try {
        bytes += (await statOrThrow(join(dir, bin))).size;
      } catch (error) {
        errors.push(fsError(error, join(dir, bin)).toJSON());
      }
    }
    return { files: bins, bytes, parameters: undefined, dtypes: [], binOnly: true, errors };
  }
  errors.push(
    new BerthError(
      'WEIGHTS_MISSING',
      `No weights in ${dir} (no *.safetensors, no pytorch_model*.bin)`,
      'Pick a folder saved with save_pretrained(), or a checkpoint-N folder inside a training run.',
    ).toJSON(),
  );
  return { files: [], bytes: 0, parameters: undefined, dtypes: [], binOnly: false, errors };
}

/**
 * A routed expert's weights: one expert per tensor (Qwen3-MoE `mlp.experts.7.up_proj`, Mixtral
 * `block_sparse_moe.experts.7.w1`) or all experts in one 3-D tensor (GraniteMoe `block_sparse_moe.input_linear`,
 * transformers' fused `mlp.experts.gate_up_proj`). Shared experts and the router run for every token.
 */
export function isRoutedExpert(name: string): boolean {
  return (
    /\.experts\.\d+\./.test(name) ||
    /\.experts\.(gate_up_proj|gate_proj|up_proj|down_proj)(\.weight)?$/.test(name) ||
    /\.block_sparse_moe\.(input_linear|output_linear)\.weight$/.test(name)
  );
}

/**
 * Parameters one token runs through: everything but the routed experts, plus `num_experts_used` of
 * `num_experts` of them (every expert of a layer has the same size). Undefined for a dense model.
 */
function activeParameters(weights: Weights, shape: ModelShape | undefined): number | undefined {
  const n = shape?.num_experts;
  const used = shape?.num_experts_used;
  if (!n || !used || !weights.parameters || !weights.expertParameters) return undefined;
  return weights.parameters - weights.expertParameters + (weights.expertParameters / n) * used;
}
