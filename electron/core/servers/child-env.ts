/** Variables a server child inherits from Berth's own environment; everything else is dropped. */
const ALLOWED = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER'];

/**
 * The environment of a server child, built from an allowlist (PATH, HOME, LANG, LC_*, TMPDIR, USER), the
 * backend's additions and CUDA_VISIBLE_DEVICES when GPUs are chosen. LD_PRELOAD and DYLD_* never pass, even
 * from a backend, so nothing can be injected into the server process.
 */
export function childEnv(
  base: NodeJS.ProcessEnv,
  additions: Record<string, string> = {},
  gpus?: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined) continue;
    if (ALLOWED.includes(key) || key.startsWith('LC_')) env[key] = value;
  }
  Object.assign(env, additions);
  if (gpus !== undefined) env.CUDA_VISIBLE_DEVICES = gpus;
  for (const key of Object.keys(env)) {
    if (key === 'LD_PRELOAD' || key.startsWith('DYLD_')) delete env[key];
  }
  return env;
}
