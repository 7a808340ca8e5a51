import type { BerthEvent, Progress } from '../../../shared/events.js';
import { formatBytes } from './output.js';

/** One line of a text progress bar: "convert  [#######-------]  48%  1.2 GiB / 2.5 GiB  ETA 12s". */
export function progressLine(p: Progress, width = 24): string {
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const filled = Math.round(ratio * width);
  const amounts =
    p.unit === 'bytes'
      ? `${formatBytes(p.done)} / ${formatBytes(p.total)}`
      : `${p.done} / ${p.total} ${p.unit}`;
  const eta = p.eta_s !== undefined ? `  ETA ${Math.ceil(p.eta_s)}s` : '';
  return `${p.stage.padEnd(9)}[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${amounts}${eta}`;
}

/** A human line for a deployment event, or undefined for events a person does not need to read. */
export function describeEvent(event: BerthEvent): string | undefined {
  switch (event.type) {
    case 'deployment.stage':
      return `• ${event.stage}: ${event.state}${event.detail ? ` — ${event.detail}` : ''}${event.error ? ` [${event.error.code}]${event.error.hint ? ` hint: ${event.error.hint}` : ''}` : ''}`;
    case 'deployment.log':
      return `  ${event.log.line}`;
    case 'deployment.status':
      if (event.status === 'succeeded' && event.result)
        return `✓ running: ${event.result.openai_base_url} (model "${event.result.model_name}")`;
      if (event.error)
        return `✗ ${event.status}: [${event.error.code}] ${event.error.message}${event.error.hint ? `\n  hint: ${event.error.hint}` : ''}`;
      return undefined;
    default:
      return undefined;
  }
}
