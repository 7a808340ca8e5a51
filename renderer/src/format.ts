import { formatBytes as bytes } from '../../shared/format.js';

/** Bytes for people (a dash when unknown). */
export function formatBytes(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : bytes(value);
}

/** A parameter count: 6.7K, 8.03B. */
export function formatCount(n: number | undefined): string {
  if (n === undefined) return '';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** A loss to 4 decimals, or a dash. */
export function formatLoss(v: number | undefined): string {
  return v === undefined ? '–' : v.toFixed(4);
}

/** A duration for people: 42s, 3m 05s, 2h 10m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
