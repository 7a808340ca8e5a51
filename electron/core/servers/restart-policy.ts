/** Auto-restart limits: 1 s doubling to 60 s, at most 5 restarts in any 10 minutes. */
export const RESTART_POLICY = { baseMs: 1_000, maxMs: 60_000, maxRestarts: 5, windowMs: 10 * 60_000 };

/**
 * The delay before the next automatic restart, or undefined when the budget is spent. `history` holds the
 * times of earlier automatic restarts; the delay doubles with each one still inside the window.
 */
export function nextRestartDelay(
  history: readonly number[],
  now: number,
  policy = RESTART_POLICY,
): number | undefined {
  const recent = history.filter((t) => now - t < policy.windowMs).length;
  if (recent >= policy.maxRestarts) return undefined;
  return Math.min(policy.baseMs * 2 ** recent, policy.maxMs);
}
