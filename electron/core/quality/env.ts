/**
 * Defaults for quality requests that leave them out, from BERTH_QUALITY_CONTEXT / BERTH_QUALITY_WINDOWS (a slow
 * machine, or the e2e test, measures fewer windows than the whole text) and BERTH_QUALITY_TEXT (the evaluation
 * text deploy-time measurements use instead of the shipped one: the user's own eval set).
 */
export function envDefaults(env: NodeJS.ProcessEnv): { context?: number; windows?: number; text?: string } {
  const n = (v: string | undefined) =>
    v && Number.isInteger(Number(v)) && Number(v) > 0 ? Number(v) : undefined;
  const context = n(env.BERTH_QUALITY_CONTEXT);
  const windows = n(env.BERTH_QUALITY_WINDOWS);
  const text = env.BERTH_QUALITY_TEXT || undefined;
  return { ...(context ? { context } : {}), ...(windows ? { windows } : {}), ...(text ? { text } : {}) };
}
