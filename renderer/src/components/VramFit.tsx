import type { DeploymentOption, Recommendation } from '../../../shared/system.js';

const NAMES = { vllm: 'vLLM', ollama: 'Ollama', llamacpp: 'Built-in engine' } as const;

/** "7.9 GiB" / "350 MiB": GPU tools count in binary units. */
export function formatGiB(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/**
 * Per option: stacked bars of weights, KV cache and overhead against the free memory of where it runs (a
 * marker line), with the numbers. Used on the System page's example, the checkpoint and deploy screens.
 */
export function VramFit(props: { recommendation: Recommendation; showReasons?: boolean }) {
  const { recommendation: r } = props;
  return (
    <div className="vram-fit">
      <p className="vram-fit-summary">
        <strong>{r.summary}</strong>{' '}
        <span className="muted">(context {r.context_length.toLocaleString()} tokens)</span>
      </p>
      <ul className="vram-fit-list">
        {r.options.map((o) => (
          <FitRow
            key={`${o.backend}-${o.placement}-${o.quantization ?? o.dtype}`}
            option={o}
            showReasons={props.showReasons ?? true}
          />
        ))}
      </ul>
      <div className="vram-fit-legend muted" aria-hidden="true">
        <span className="swatch swatch-weights" /> weights <span className="swatch swatch-kv" /> KV cache{' '}
        <span className="swatch swatch-overhead" /> overhead <span className="swatch swatch-free" /> available
      </div>
    </div>
  );
}

function FitRow(props: { option: DeploymentOption; showReasons: boolean }) {
  const o = props.option;
  const m = o.memory;
  const scale = Math.max(m.total_bytes, m.available_bytes, 1);
  const pct = (b: number) => `${((b / scale) * 100).toFixed(2)}%`;
  const label = `${NAMES[o.backend]} · ${o.quantization ?? o.dtype ?? ''} · ${o.placement === 'cpu' ? 'CPU / RAM' : o.placement === 'partial' ? `${o.config.gpu_layers} layers on ${o.device}` : o.device}`;
  return (
    <li
      className={`vram-fit-row${o.recommended ? ' recommended' : ''}`}
      aria-label={`${label}: ${o.fit.replace(/_/g, ' ')}`}
    >
      <div className="vram-fit-head">
        <span className="vram-fit-label">
          {o.recommended ? <span className="badge">pick</span> : null} {label}
        </span>
        <span className={`fit fit-${o.fit}`}>{o.fit.replace(/_/g, ' ')}</span>
      </div>
      <div
        className="vram-bar"
        role="img"
        aria-label={`${formatGiB(m.total_bytes)} needed of ${formatGiB(m.available_bytes)} available`}
      >
        <span className="seg seg-weights" style={{ width: pct(m.weights_bytes) }} />
        <span className="seg seg-kv" style={{ width: pct(m.kv_cache_bytes) }} />
        <span className="seg seg-overhead" style={{ width: pct(m.overhead_bytes) }} />
        <span className="vram-limit" style={{ left: pct(m.available_bytes) }} />
      </div>
      <div className="vram-fit-numbers mono">
        {formatGiB(m.weights_bytes)} weights + {formatGiB(m.kv_cache_bytes)} KV +{' '}
        {formatGiB(m.overhead_bytes)} overhead = <strong>{formatGiB(m.total_bytes)}</strong> of{' '}
        {formatGiB(m.available_bytes)}{' '}
        {o.placement === 'cpu' ? 'free RAM' : o.backend === 'vllm' ? 'usable VRAM' : 'free VRAM'}
        {m.ram_bytes ? ` (+ ${formatGiB(m.ram_bytes)} in RAM)` : ''}
      </div>
      {props.showReasons ? (
        <ul className="vram-fit-reasons muted">
          {o.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
          {!o.installed && o.install_hint ? (
            <li>
              Install: <span className="mono">{o.install_hint}</span>
            </li>
          ) : null}
        </ul>
      ) : null}
    </li>
  );
}
