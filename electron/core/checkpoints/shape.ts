import type { ModelShape } from '../../../shared/checkpoints.js';
import { BerthError } from '../errors.js';
import { isRecord } from './files.js';

type Defaults = Partial<
  Record<
    | 'vocab_size'
    | 'hidden_size'
    | 'intermediate_size'
    | 'num_hidden_layers'
    | 'num_attention_heads'
    | 'num_key_value_heads'
    | 'max_position_embeddings',
    number
  >
> & {
  tie_word_embeddings?: boolean;
  head_dim?: number;
  /** Mixture of experts: experts per layer and used per token. */
  num_experts?: number;
  num_experts_used?: number;
  expert_intermediate_size?: number;
  /** Sliding-window attention: the window and the layer pattern (every n-th layer global). */
  sliding_window?: number;
  global_every?: number;
};

/**
 * The defaults transformers' config classes fill in when config.json leaves a field out (from each
 * `XxxConfig.__init__`). Unknown model types get no defaults: a missing field there is an error.
 */
const TRANSFORMERS_DEFAULTS: Record<string, Defaults> = {
  llama: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
  },
  mistral: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    max_position_embeddings: 131072,
    tie_word_embeddings: false,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 32768,
    tie_word_embeddings: false,
  },
  qwen3: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 32768,
    tie_word_embeddings: false,
  },
  gemma2: {
    vocab_size: 256000,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    max_position_embeddings: 8192,
    tie_word_embeddings: true,
    head_dim: 256,
    sliding_window: 4096,
    global_every: 2,
  },
  phi3: {
    vocab_size: 32064,
    hidden_size: 3072,
    intermediate_size: 8192,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 4096,
    tie_word_embeddings: false,
  },
  gemma3_text: {
    vocab_size: 262208,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 256,
    max_position_embeddings: 131072,
    tie_word_embeddings: true,
    sliding_window: 4096,
    global_every: 6,
  },
  qwen2_moe: {
    vocab_size: 151936,
    hidden_size: 2048,
    intermediate_size: 5632,
    num_hidden_layers: 24,
    num_attention_heads: 16,
    num_key_value_heads: 16,
    max_position_embeddings: 32768,
    tie_word_embeddings: false,
    num_experts: 60,
    num_experts_used: 4,
    expert_intermediate_size: 1408,
  },
  qwen3_moe: {
    vocab_size: 151936,
    hidden_size: 2048,
    intermediate_size: 6144,
    num_hidden_layers: 24,
    num_attention_heads: 32,
    num_key_value_heads: 4,
    max_position_embeddings: 32768,
    tie_word_embeddings: false,
    num_experts: 128,
    num_experts_used: 8,
    expert_intermediate_size: 768,
  },
  mixtral: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    max_position_embeddings: 131072,
    tie_word_embeddings: false,
    num_experts: 8,
    num_experts_used: 2,
  },
  smollm3: {
    vocab_size: 128256,
    hidden_size: 2048,
    intermediate_size: 11008,
    num_hidden_layers: 36,
    num_attention_heads: 16,
    num_key_value_heads: 4,
    max_position_embeddings: 32768,
    tie_word_embeddings: true,
  },
  olmo2: {
    vocab_size: 50304,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
  },
  granite: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
  },
  granitemoe: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
    num_experts: 8,
    num_experts_used: 2,
  },
  gpt2: {
    vocab_size: 50257,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    max_position_embeddings: 1024,
    tie_word_embeddings: true,
  },
};

/** Other names configs use for the same facts (GPT-2 style, Falcon, MPT, ...). */
const ALIASES: Record<string, string[]> = {
  hidden_size: ['hidden_size', 'n_embd', 'd_model', 'model_dim'],
  num_hidden_layers: ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'],
  num_attention_heads: ['num_attention_heads', 'n_head', 'num_heads', 'n_heads'],
  num_key_value_heads: ['num_key_value_heads', 'num_kv_heads', 'n_head_kv', 'multi_query_group_num'],
  intermediate_size: ['intermediate_size', 'n_inner', 'ffn_hidden_size', 'ffn_dim'],
  max_position_embeddings: [
    'max_position_embeddings',
    'n_positions',
    'max_seq_len',
    'seq_length',
    'n_ctx',
    'max_sequence_length',
  ],
  vocab_size: ['vocab_size', 'padded_vocab_size'],
};

/** architecture and model_type of a parsed config.json; throws CONFIG_INVALID when it names neither. */
export function configIdentity(config: unknown): { architecture: string; model_type: string } {
  if (!isRecord(config))
    throw new BerthError(
      'CONFIG_INVALID',
      'config.json is not a JSON object',
      'Save the model again with save_pretrained().',
    );
  const archs = config.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  const modelType = typeof config.model_type === 'string' ? config.model_type : undefined;
  if (!architecture && !modelType) {
    throw new BerthError(
      'CONFIG_INVALID',
      'config.json names neither "architectures" nor "model_type"',
      'This is not a transformers model config; save the model with save_pretrained().',
    );
  }
  return { architecture: architecture ?? 'unknown', model_type: modelType ?? 'unknown' };
}

/** The model's shape with transformers' defaults; throws CONFIG_INVALID when a needed field is missing. */
export function modelShape(config: Record<string, unknown>): ModelShape {
  const { architecture, model_type } = configIdentity(config);
  // Multimodal configs (Gemma 3, Llava, ...) keep the language model's facts in text_config.
  const text =
    isRecord(config.text_config) && !hasAny(config, 'hidden_size') ? { ...config.text_config } : config;
  const textType = typeof text.model_type === 'string' ? text.model_type : model_type;
  const defaults = TRANSFORMERS_DEFAULTS[textType] ?? TRANSFORMERS_DEFAULTS[model_type] ?? {};
  const missing: string[] = [];
  const int = (field: keyof typeof ALIASES, required = true): number | undefined => {
    for (const key of ALIASES[field] ?? [field]) {
      const v = text[key];
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
    }
    const d = defaults[field as keyof Defaults];
    if (typeof d === 'number') return d;
    if (required) missing.push(field);
    return undefined;
  };
  const hidden = int('hidden_size');
  const layers = int('num_hidden_layers');
  const heads = int('num_attention_heads');
  const vocab = int('vocab_size');
  const context = int('max_position_embeddings');
  const intermediate = int('intermediate_size', false);
  if (missing.length > 0 || !hidden || !layers || !heads || !vocab || !context) {
    throw new BerthError(
      'CONFIG_INVALID',
      `config.json lacks ${missing.join(', ')} and transformers has no default for model_type "${model_type}"`,
      'Save the model again with save_pretrained(), or add the missing fields to config.json.',
    );
  }
  const kvHeads = int('num_key_value_heads', false) ?? (text.multi_query === true ? 1 : heads);
  const headDim =
    typeof text.head_dim === 'number' && text.head_dim > 0
      ? text.head_dim
      : (defaults.head_dim ?? Math.floor(hidden / heads));
  const tie =
    typeof text.tie_word_embeddings === 'boolean'
      ? text.tie_word_embeddings
      : typeof config.tie_word_embeddings === 'boolean'
        ? config.tie_word_embeddings
        : (defaults.tie_word_embeddings ?? true);
  const dtype = config.torch_dtype ?? config.dtype ?? text.torch_dtype ?? text.dtype;
  return {
    architecture,
    model_type,
    num_layers: layers,
    hidden_size: hidden,
    ...(intermediate ? { intermediate_size: intermediate } : {}),
    num_attention_heads: heads,
    num_kv_heads: kvHeads,
    head_dim: headDim,
    vocab_size: vocab,
    context_length: context,
    rope_scaling: ropeScaling(text),
    tie_word_embeddings: tie,
    ...(typeof dtype === 'string' ? { torch_dtype: dtype } : {}),
    ...experts(text, defaults),
    ...slidingWindow(text, defaults, layers),
  };
}

const posInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

/** Mixture of experts: num_local_experts (transformers 5, Mixtral, Granite) or num_experts (Qwen's hub configs). */
function experts(text: Record<string, unknown>, defaults: Defaults): Partial<ModelShape> {
  const n = posInt(text.num_local_experts) ?? posInt(text.num_experts) ?? defaults.num_experts;
  const used = posInt(text.num_experts_per_tok) ?? defaults.num_experts_used;
  if (!n || !used) return {};
  const size = posInt(text.moe_intermediate_size) ?? defaults.expert_intermediate_size;
  const shared = posInt(text.shared_expert_intermediate_size) ?? posInt(text.shared_intermediate_size);
  return {
    num_experts: n,
    num_experts_used: used,
    ...(size ? { expert_intermediate_size: size } : {}),
    ...(shared ? { shared_expert_intermediate_size: shared } : {}),
  };
}

/**
 * Sliding-window attention and how many layers use it: config.json's layer_types when it lists them, else the
 * family's fixed pattern (Gemma 2: every other layer global; Gemma 3: every 6th). Qwen's sliding window only
 * applies with use_sliding_window; Mistral's is ignored by llama.cpp and by vLLM's current models, so it is
 * not counted.
 */
function slidingWindow(
  text: Record<string, unknown>,
  defaults: Defaults,
  layers: number,
): Partial<ModelShape> {
  const every = defaults.global_every;
  const window = posInt(text.sliding_window) ?? defaults.sliding_window;
  if (!window || !every) return {};
  const types = Array.isArray(text.layer_types) ? text.layer_types : undefined;
  const pattern = posInt(text.sliding_window_pattern) ?? posInt(text._sliding_window_pattern) ?? every;
  const sliding = types
    ? types.filter((t) => t === 'sliding_attention').length
    : Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0).filter(Boolean).length;
  return { sliding_window: window, sliding_window_layers: sliding };
}

/** rope_scaling as transformers 4 wrote it, or transformers 5's rope_parameters when it scales. */
function ropeScaling(config: Record<string, unknown>): Record<string, unknown> | null {
  if (isRecord(config.rope_scaling)) return config.rope_scaling;
  const params = config.rope_parameters;
  if (isRecord(params) && params.rope_type !== undefined && params.rope_type !== 'default') return params;
  return null;
}

function hasAny(config: Record<string, unknown>, field: keyof typeof ALIASES): boolean {
  return (ALIASES[field] ?? []).some((k) => config[k] !== undefined);
}
