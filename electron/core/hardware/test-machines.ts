import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelShape } from '../../../shared/checkpoints.js';
import type { BackendStatus, Gpu, SystemReport } from '../../../shared/system.js';
import { parseNvidiaQueryGpu, parseNvidiaSmiXml } from './nvidia.js';
import { parseRocmSmiJson } from './rocm.js';

/** Test data: the real captured GPUs, and real model shapes (from their config.json on the Hub). */
const fixture = (name: string) => readFileSync(join(import.meta.dirname, '__fixtures__', name), 'utf8');

function captureSection(file: string, title: string): string {
  const lines = fixture(file).split('\n');
  const start = lines.findIndex((l) => l.startsWith(`# ${title}`));
  const body: string[] = [];
  for (const line of lines.slice(start + 3)) {
    if (line.startsWith('####')) break;
    body.push(line);
  }
  return body.join('\n');
}

/** GPUs of each captured machine, idle. */
export const MACHINES: Record<string, Gpu[]> = {
  'RTX 4080 SUPER': parseNvidiaQueryGpu(
    captureSection('linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt', 'idle :: query-gpu'),
  ).items,
  H100: parseNvidiaQueryGpu(
    captureSection('linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt', 'idle :: query-gpu'),
  ).items,
  'H100 under load': parseNvidiaQueryGpu(
    captureSection('linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt', 'load :: query-gpu'),
  ).items,
  'A100 (4 MIG slices)': parseNvidiaSmiXml(fixture('a100-sxm4-v12.xml')).items,
  'RTX 3060': parseNvidiaSmiXml(fixture('rtx-3060-v12.xml')).items,
  T4: parseNvidiaSmiXml(fixture('tesla-t4.xml')).items,
  '2x RTX 2070': parseNvidiaSmiXml(fixture('dual_2070-v13.xml')).items,
  'GTX 1660 Ti': parseNvidiaSmiXml(fixture('gtx-1660-ti.xml')).items,
  'RX 6700 XT': parseRocmSmiJson(fixture('rx6700xt_rocm612.json')).items,
  '4x MI100': parseRocmSmiJson(fixture('mi100_rocm602.json')).items,
  'no GPU': [],
};

const GIB = 1024 ** 3;

/** Every backend installed and ready (vLLM with CUDA, Ollama, the built-in engine with CUDA and Vulkan). */
export const ALL_BACKENDS: BackendStatus[] = [
  { name: 'vllm', installed: true, version: '0.11.0', gpu_ready: true },
  { name: 'ollama', installed: true, version: '0.12.3', running: true },
  { name: 'llamacpp', installed: true, gpu_kinds: ['cpu', 'cuda', 'vulkan'] },
  { name: 'converter', installed: true },
];

export function machine(gpus: Gpu[], backends = ALL_BACKENDS, freeRamGiB = 60): SystemReport {
  return {
    detected_at: '2026-01-01T00:00:00.000Z',
    gpus,
    cpu: { model: 'test CPU', cores: 16 },
    memory: { total_bytes: 64 * GIB, free_bytes: freeRamGiB * GIB },
    backends,
    warnings: [],
  };
}

const shape = (s: Omit<ModelShape, 'architecture'> & { architecture?: string }): ModelShape => ({
  architecture: `${s.model_type}ForCausalLM`,
  ...s,
});

/** Real shapes (config.json of each model on the Hugging Face Hub). */
export const MODELS: Record<string, ModelShape> = {
  'Llama-3.1-8B': shape({
    architecture: 'LlamaForCausalLM',
    model_type: 'llama',
    num_layers: 32,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_attention_heads: 32,
    num_kv_heads: 8,
    head_dim: 128,
    vocab_size: 128256,
    context_length: 131072,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  }),
  'Qwen2.5-7B': shape({
    architecture: 'Qwen2ForCausalLM',
    model_type: 'qwen2',
    num_layers: 28,
    hidden_size: 3584,
    intermediate_size: 18944,
    num_attention_heads: 28,
    num_kv_heads: 4,
    head_dim: 128,
    vocab_size: 152064,
    context_length: 32768,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  }),
  'Mistral-7B-v0.3': shape({
    architecture: 'MistralForCausalLM',
    model_type: 'mistral',
    num_layers: 32,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_attention_heads: 32,
    num_kv_heads: 8,
    head_dim: 128,
    vocab_size: 32768,
    context_length: 32768,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  }),
  'Phi-3-mini-4k': shape({
    architecture: 'Phi3ForCausalLM',
    model_type: 'phi3',
    num_layers: 32,
    hidden_size: 3072,
    intermediate_size: 8192,
    num_attention_heads: 32,
    num_kv_heads: 32,
    head_dim: 96,
    vocab_size: 32064,
    context_length: 4096,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  }),
  'Gemma-2-9B': shape({
    architecture: 'Gemma2ForCausalLM',
    model_type: 'gemma2',
    num_layers: 42,
    hidden_size: 3584,
    intermediate_size: 14336,
    num_attention_heads: 16,
    num_kv_heads: 8,
    head_dim: 256,
    vocab_size: 256000,
    context_length: 8192,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
  }),
  'Llama-3.1-70B': shape({
    architecture: 'LlamaForCausalLM',
    model_type: 'llama',
    num_layers: 80,
    hidden_size: 8192,
    intermediate_size: 28672,
    num_attention_heads: 64,
    num_kv_heads: 8,
    head_dim: 128,
    vocab_size: 128256,
    context_length: 131072,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  }),
};
