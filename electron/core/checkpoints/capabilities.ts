import type { Verdict } from '../../../shared/checkpoints.js';

/**
 * Architectures the GGUF converter (python/convert_to_gguf.py) supports, exactly: the keys of its table,
 * python/berth_convert/architectures.py ARCHITECTURES (python/tests/test_architectures.py checks they agree).
 */
export const GGUF_CONVERTIBLE_ARCHITECTURES = [
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'MixtralForCausalLM',
  'Qwen3ForCausalLM',
  'Qwen2MoeForCausalLM',
  'Qwen3MoeForCausalLM',
  'Gemma2ForCausalLM',
  'Gemma3ForCausalLM',
  'Gemma3ForConditionalGeneration',
  'Phi3ForCausalLM',
  'SmolLM3ForCausalLM',
  'Olmo2ForCausalLM',
  'GraniteForCausalLM',
  'GraniteMoeForCausalLM',
  'GraniteMoeSharedForCausalLM',
] as const;

/** Text-generation architectures vLLM serves (from vLLM's supported-models list). */
export const VLLM_ARCHITECTURES = [
  'AquilaForCausalLM',
  'ArcticForCausalLM',
  'BaiChuanForCausalLM',
  'BaichuanForCausalLM',
  'BloomForCausalLM',
  'ChatGLMModel',
  'CohereForCausalLM',
  'Cohere2ForCausalLM',
  'DbrxForCausalLM',
  'DeciLMForCausalLM',
  'DeepseekForCausalLM',
  'DeepseekV2ForCausalLM',
  'DeepseekV3ForCausalLM',
  'ExaoneForCausalLM',
  'FalconForCausalLM',
  'GemmaForCausalLM',
  'Gemma2ForCausalLM',
  'Gemma3ForCausalLM',
  'Gemma3ForConditionalGeneration',
  'GlmForCausalLM',
  'Glm4ForCausalLM',
  'GPT2LMHeadModel',
  'GPTBigCodeForCausalLM',
  'GPTJForCausalLM',
  'GPTNeoXForCausalLM',
  'GraniteForCausalLM',
  'GraniteMoeForCausalLM',
  'InternLM2ForCausalLM',
  'InternLM3ForCausalLM',
  'JambaForCausalLM',
  'LlamaForCausalLM',
  'MambaForCausalLM',
  'MiniCPMForCausalLM',
  'MiniCPM3ForCausalLM',
  'MistralForCausalLM',
  'MixtralForCausalLM',
  'MPTForCausalLM',
  'NemotronForCausalLM',
  'OLMoForCausalLM',
  'OlmoForCausalLM',
  'Olmo2ForCausalLM',
  'OlmoeForCausalLM',
  'OPTForCausalLM',
  'OrionForCausalLM',
  'PhiForCausalLM',
  'Phi3ForCausalLM',
  'PhiMoEForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen2MoeForCausalLM',
  'Qwen3ForCausalLM',
  'Qwen3MoeForCausalLM',
  'SmolLM3ForCausalLM',
  'StableLmForCausalLM',
  'Starcoder2ForCausalLM',
  'SolarForCausalLM',
  'TeleChat2ForCausalLM',
  'XverseForCausalLM',
] as const;

const vllmSet = new Set<string>(VLLM_ARCHITECTURES);
const ggufSet = new Set<string>(GGUF_CONVERTIBLE_ARCHITECTURES);

/** The facts the verdicts depend on. */
export interface CapabilityInput {
  kind: 'hf-model' | 'lora-adapter' | 'gguf' | 'bin-only';
  architecture: string | undefined;
  hasErrors: boolean;
  /** For an adapter: whether its base model was found on this machine. */
  baseFound?: boolean;
}

const no = (code: string, reason: string): Verdict => ({ ok: false, code, reason });

/** Whether vLLM can serve this checkpoint as it is on disk, and why not. */
export function vllmVerdict(input: CapabilityInput): Verdict {
  if (input.kind === 'gguf')
    return no('GGUF_FILE', 'vLLM serves Hugging Face folders; deploy a GGUF with Ollama or llama.cpp');
  if (input.kind === 'lora-adapter' && !input.baseFound)
    return no(
      'ADAPTER_BASE_MISSING',
      'vLLM serves an adapter over its base model, which is not on this machine',
    );
  if (input.hasErrors) return no('INVALID_CHECKPOINT', 'the checkpoint has errors (see below)');
  const arch = input.architecture ?? 'unknown';
  if (!vllmSet.has(arch)) return no('UNSUPPORTED_ARCHITECTURE', `vLLM does not support ${arch}`);
  return { ok: true };
}

/** Whether Berth's converter can turn this checkpoint into a GGUF, and why not. */
export function ggufVerdict(input: CapabilityInput): Verdict {
  if (input.kind === 'gguf') return { ok: true, reason: 'already a GGUF file: no conversion needed' };
  if (input.hasErrors) return no('INVALID_CHECKPOINT', 'the checkpoint has errors (see below)');
  const arch = input.architecture ?? 'unknown';
  if (!ggufSet.has(arch))
    return no(
      'UNSUPPORTED_ARCHITECTURE',
      `the converter supports ${GGUF_CONVERTIBLE_ARCHITECTURES.join(', ')}; not ${arch}`,
    );
  if (input.kind === 'lora-adapter')
    return {
      ok: true,
      reason: "a LoRA adapter: served as a llama.cpp LoRA GGUF over its base's GGUF, or merged into the base",
    };
  if (input.kind === 'bin-only')
    return no(
      'BIN_ONLY',
      'the converter reads safetensors; this checkpoint has only pytorch_model*.bin. Re-save it with ' +
        'AutoModelForCausalLM.from_pretrained(path).save_pretrained(path_out) (safetensors by default)',
    );
  return { ok: true };
}
