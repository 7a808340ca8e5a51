import type { Checkpoint, ModelShape, TokenizerInfo } from '../../../shared/checkpoints.js';
import { ggufVerdict, vllmVerdict } from './capabilities.js';
import { type GgufHeader, type GgufValue, readGgufHeader } from './gguf.js';

const GGUF_TOKENIZERS: Record<string, TokenizerInfo['kind']> = {
  llama: 'sentencepiece',
  gpt2: 'bpe',
  bert: 'wordpiece',
  t5: 'unigram',
};

/** Describes a GGUF file from its header: deployable to Ollama or llama.cpp as is. */
export async function describeGgufFile(file: string, relativePath: string): Promise<Checkpoint> {
  const header = await readGgufHeader(file);
  const meta = header.metadata;
  const arch = str(meta.get('general.architecture')) ?? 'unknown';
  const name = str(meta.get('general.name'));
  const context = int(meta.get(`${arch}.context_length`));
  const tokModel = str(meta.get('tokenizer.ggml.model'));
  const template = meta.has('tokenizer.chat_template');
  const shape = ggufShape(header, arch);
  const input = { kind: 'gguf' as const, architecture: arch, hasErrors: false };
  return {
    relative_path: relativePath,
    path: file,
    kind: 'gguf',
    architecture: arch,
    model_type: arch,
    ...(shape ? { shape } : {}),
    size_bytes: header.fileSize,
    parameters: header.parameters,
    dtypes: header.tensorTypes,
    vllm_servable: vllmVerdict(input),
    gguf_convertible: ggufVerdict(input),
    errors: [],
    warnings: [],
    weight_files: [header.file],
    tokenizer: {
      kind: tokModel ? (GGUF_TOKENIZERS[tokModel] ?? 'unknown') : 'none',
      chat_template: template,
      ...(template ? { chat_template_source: 'gguf metadata' } : {}),
      files: [],
    },
    gguf: {
      version: header.version,
      architecture: arch,
      ...(name ? { name } : {}),
      ...(context !== undefined ? { context_length: context } : {}),
      ...(header.fileType ? { file_type: header.fileType } : {}),
      tensor_count: header.tensorCount,
      metadata_count: meta.size,
    },
    is_best: false,
    is_final: false,
  };
}

/** The model's shape from the GGUF's `<arch>.*` keys, when they are all there. */
function ggufShape(header: GgufHeader, arch: string): ModelShape | undefined {
  const m = header.metadata;
  const layers = int(m.get(`${arch}.block_count`));
  const hidden = int(m.get(`${arch}.embedding_length`));
  const heads = int(m.get(`${arch}.attention.head_count`));
  const context = int(m.get(`${arch}.context_length`));
  const tokens = m.get('tokenizer.ggml.tokens');
  const vocab =
    int(m.get(`${arch}.vocab_size`)) ??
    (typeof tokens === 'object' && 'length' in tokens ? tokens.length : undefined);
  if (!layers || !hidden || !heads || !context || !vocab) return undefined;
  const kv = int(m.get(`${arch}.attention.head_count_kv`)) ?? heads;
  const headDim = int(m.get(`${arch}.attention.key_length`)) ?? Math.floor(hidden / heads);
  const ffn = int(m.get(`${arch}.feed_forward_length`));
  const ropeType = str(m.get(`${arch}.rope.scaling.type`));
  const ropeFactor = m.get(`${arch}.rope.scaling.factor`);
  return {
    architecture: arch,
    model_type: arch,
    num_layers: layers,
    hidden_size: hidden,
    ...(ffn ? { intermediate_size: ffn } : {}),
    num_attention_heads: heads,
    num_kv_heads: kv,
    head_dim: headDim,
    vocab_size: vocab,
    context_length: context,
    rope_scaling: ropeType && ropeType !== 'none' ? { rope_type: ropeType, factor: ropeFactor } : null,
    tie_word_embeddings: !header.hasOutputTensor,
  };
}

function str(v: GgufValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function int(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}
