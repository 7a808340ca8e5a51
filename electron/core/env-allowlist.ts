/** Copies only the listed variables (those that are set) from an environment: the start of every child's env. */
export function pickEnv(
  env: NodeJS.ProcessEnv,
  keys: readonly string[],
  base: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = { ...base };
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
