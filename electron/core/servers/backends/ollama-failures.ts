import { BerthError } from '../../errors.js';

/** Ollama's own words for failures Berth can explain (from its server log and its API errors). */
const RULES: Array<{ pattern: RegExp; error: (match: RegExpExecArray, line: string) => BerthError }> = [
  {
    pattern: /model requires more system memory \(([^)]+)\) than is available \(([^)]+)\)/,
    error: (m) =>
      new BerthError(
        'OUT_OF_MEMORY',
        `Ollama: the model needs ${m[1]} of memory, but only ${m[2]} is available`,
        'Pick a smaller quantization (Q4_K_M), a shorter context_length, or stop other models and servers.',
      ),
  },
  {
    pattern: /CUDA error: out of memory|cudaMalloc failed|out of memory/i,
    error: (_m, line) =>
      new BerthError(
        'OUT_OF_MEMORY',
        `Ollama ran out of memory: ${line.trim()}`,
        'Pick a smaller quantization or a shorter context_length, or free GPU memory.',
      ),
  },
  {
    pattern:
      /error loading model|llama runner process has terminated|invalid file magic|unsupported GGUF version/,
    error: (_m, line) =>
      new BerthError(
        'MODEL_LOAD_FAILED',
        `Ollama could not load the model: ${line.trim()}`,
        'The GGUF may be damaged or need a newer Ollama; update Ollama, or convert the model again.',
      ),
  },
  {
    pattern: /listen tcp ([^:]+:\d+): bind: address already in use/,
    error: (m) =>
      new BerthError(
        'PORT_IN_USE',
        `Ollama could not listen on ${m[1]}: the address is in use`,
        'Another Ollama may be running there; set Settings > Ollama host to use it, or pick another port.',
      ),
  },
];

/** The first known failure in the log tail (or an API error message), as an error with a hint. */
export function classifyOllamaFailure(lines: string[]): BerthError | undefined {
  for (const line of [...lines].reverse()) {
    for (const rule of RULES) {
      const match = rule.pattern.exec(line);
      if (match) return rule.error(match, line);
    }
  }
  return undefined;
}
