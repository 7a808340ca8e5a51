import { BerthError } from '../../errors.js';

/** vLLM's KV cache block size: a max_model_len we suggest is rounded down to a multiple of it. */
const BLOCK = 16;

/**
 * Turns a known vLLM failure in its log tail into an error with a hint: vLLM not installed, CUDA out of memory,
 * or a max_model_len larger than the KV cache can hold (with the max_model_len that fits, from vLLM's numbers).
 */
export function classifyVllmFailure(logTail: readonly string[], python = 'python3'): BerthError | undefined {
  const text = logTail.join('\n');
  if (/No module named '?vllm'?/.test(text)) {
    return new BerthError(
      'BACKEND_NOT_INSTALLED',
      `vLLM is not installed for ${python}`,
      `Install it with \`${python} -m pip install vllm\`, or point Settings > Python for vLLM at a Python that has it.`,
    );
  }
  const kv = kvCacheFailure(text);
  if (kv) return kv;
  const oom =
    /CUDA out of memory\.(?: Tried to allocate ([\d.]+ [KMG]iB)\. GPU (\d+) has a total capac\w* of ([\d.]+ [KMG]iB) of which ([\d.]+ [KMG]iB) is free)?/.exec(
      text,
    );
  if (oom) {
    const [, asked, gpu, total, free] = oom;
    const where = gpu ? ` (GPU ${gpu}: ${free} free of ${total}, needed ${asked} more)` : '';
    return new BerthError(
      'CUDA_OUT_OF_MEMORY',
      `vLLM ran out of GPU memory while starting${where}`,
      'Free the GPU (other processes may hold memory), use more GPUs (tensor_parallel_size), lower max_model_len, or deploy a quantized GGUF to Ollama or the built-in engine.',
      { ...(gpu ? { gpu: Number(gpu), requested: asked, total, free } : {}) },
    );
  }
  return undefined;
}

function kvCacheFailure(text: string): BerthError | undefined {
  // vLLM V1: "To serve at least one request with the models's max seq len (X), (A GiB KV cache is needed, which
  // is larger than the available KV cache memory (B GiB). [Based on the available memory, the estimated maximum
  // model length is N.]"
  const v1 =
    /max seq len \((\d+)\), \(([\d.]+) GiB KV cache is needed, which is larger than the available KV cache memory \(([\d.]+) GiB\)/.exec(
      text,
    );
  if (v1) {
    const maxLen = Number(v1[1]);
    const needed = Number(v1[2]);
    const available = Number(v1[3]);
    const estimate = /estimated maximum model length is (\d+)/.exec(text);
    const fits = estimate ? Number(estimate[1]) : roundDown((maxLen * available) / needed);
    return kvError(maxLen, fits, { kv_needed_gib: needed, kv_available_gib: available });
  }
  // vLLM V0: "The model's max seq len (X) is larger than the maximum number of tokens that can be stored in KV
  // cache (Y)."
  const v0 =
    /max seq len \((\d+)\) is larger than the maximum number of tokens that can be stored in KV cache \((\d+)\)/.exec(
      text,
    );
  if (v0) return kvError(Number(v0[1]), roundDown(Number(v0[2])), { kv_cache_tokens: Number(v0[2]) });
  return undefined;
}

function kvError(maxLen: number, fits: number, extra: Record<string, number>): BerthError {
  return new BerthError(
    'KV_CACHE_TOO_SMALL',
    `max_model_len ${maxLen} needs more KV cache than fits in GPU memory`,
    fits >= BLOCK
      ? `Deploy again with max_model_len ${fits} (what fits now), or raise gpu_memory_utilization or add GPUs.`
      : 'Even a short context does not fit: raise gpu_memory_utilization, add GPUs, or use a smaller model.',
    { max_model_len: maxLen, max_model_len_that_fits: fits, ...extra },
  );
}

function roundDown(tokens: number): number {
  return Math.floor(tokens / BLOCK) * BLOCK;
}
