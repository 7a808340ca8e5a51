import { execa } from 'execa';
import { pickEnv } from '../env-allowlist.js';

/** What one vendor-tool call gave: its output, or why there is none. */
export type ToolResult =
  | { ok: true; stdout: string; stderr: string }
  | {
      ok: false;
      /** missing: not on PATH; timeout: killed after timeoutMs; failed: non-zero exit or a signal. */
      reason: 'missing' | 'timeout' | 'failed';
      stdout: string;
      stderr: string;
      exitCode?: number;
    };

export interface RunToolOptions {
  /** The environment tools are looked up in (PATH) and children inherit from, through an allowlist. */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Largest output kept; more is a failure (a tool that floods is broken). */
  maxBytes?: number;
}

const ENV_ALLOWLIST = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SYSTEMROOT',
  'LD_LIBRARY_PATH',
  'CUDA_HOME',
  'CUDA_PATH',
  'CUDA_VISIBLE_DEVICES',
  'HIP_VISIBLE_DEVICES',
  'ROCR_VISIBLE_DEVICES',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  'HF_HOME',
];

/** The child environment: only the variables tools need, and the C locale so numbers parse. */
export function toolEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return pickEnv(env, ENV_ALLOWLIST, { LC_ALL: 'C', LANG: 'C' });
}

/**
 * Runs a tool (argument array, never a shell) with a hard timeout. On expiry the whole process group is
 * killed with SIGKILL, so a hung tool's children cannot keep its pipes (and us) waiting. Never throws.
 */
export async function runTool(command: string, args: string[], options: RunToolOptions): Promise<ToolResult> {
  const posix = process.platform !== 'win32';
  const child = execa(command, args, {
    env: toolEnv(options.env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    detached: posix,
    maxBuffer: options.maxBytes ?? 4 * 1024 * 1024,
    windowsHide: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (posix && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone: the result below says how it ended
    }
  }, options.timeoutMs);
  const result = await child;
  clearTimeout(timer);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (timedOut) return { ok: false, reason: 'timeout', stdout, stderr };
  if ((result as { code?: string }).code === 'ENOENT')
    return { ok: false, reason: 'missing', stdout, stderr };
  if (result.failed) {
    return {
      ok: false,
      reason: 'failed',
      stdout,
      stderr: stderr || (stdout ? '' : ((result as { shortMessage?: string }).shortMessage ?? '')),
      ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
    };
  }
  return { ok: true, stdout, stderr };
}

/** The first meaningful line a failed tool printed, for a warning. */
export function firstLine(result: ToolResult): string {
  const text = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  const line =
    text ?? (result.ok ? '' : `${result.reason}${'exitCode' in result ? ` (exit ${result.exitCode})` : ''}`);
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
