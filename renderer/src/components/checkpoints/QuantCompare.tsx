import { useEffect, useRef, useState } from 'react';
import type { Checkpoint, Job } from '../../../../shared/checkpoints.js';
import type { Quantization } from '../../../../shared/deploy.js';
import {
  type CompareResult,
  type QualityJobProgress,
  type QualityReport,
  qualityReading,
  qualityVerdict,
} from '../../../../shared/quality.js';
import { getApi } from '../../api/index.js';
import { formatBytes } from '../../format.js';
import { ErrorNote } from '../ErrorNote.js';

/** Size (x) against mean KL divergence (y) of each measured type, an SVG the window draws itself. */
function SizeKlChart(props: { result: CompareResult }) {
  const rows = props.result.rows;
  const W = 360;
  const H = 180;
  const pad = { l: 56, r: 12, t: 12, b: 34 };
  const maxB = Math.max(...rows.map((r) => r.bytes));
  const maxKl = Math.max(1e-6, ...rows.map((r) => r.report?.kl_mean ?? 0));
  const x = (b: number) => pad.l + (b / maxB) * (W - pad.l - pad.r);
  const y = (kl: number) => H - pad.b - (kl / maxKl) * (H - pad.t - pad.b);
  const points = rows
    .map((r) => ({ r, kl: r.reference ? 0 : r.report?.kl_mean }))
    .filter((p): p is { r: (typeof rows)[0]; kl: number } => p.kl !== undefined)
    .sort((a, b) => a.r.bytes - b.r.bytes);
  return (
    <svg className="quant-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Size against KL divergence">
      <line x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} stroke="currentColor" opacity="0.4" />
      <line x1={pad.l} y1={pad.t} x2={pad.l} y2={H - pad.b} stroke="currentColor" opacity="0.4" />
      <text x={(W + pad.l) / 2} y={H - 6} textAnchor="middle" fontSize="11">
        size ({formatBytes(maxB)} at the right)
      </text>
      <text x={12} y={H / 2} fontSize="11" transform={`rotate(-90 12 ${H / 2})`} textAnchor="middle">
        KL vs F16
      </text>
      <text x={pad.l - 4} y={pad.t + 8} fontSize="10" textAnchor="end">
        {maxKl.toExponential(1)}
      </text>
      <text x={pad.l - 4} y={H - pad.b} fontSize="10" textAnchor="end">
        0
      </text>
      <polyline
        fill="none"
        stroke="var(--accent, #3b82f6)"
        strokeWidth="1.5"
        points={points.map((p) => `${x(p.r.bytes)},${y(p.kl)}`).join(' ')}
      />
      {points.map((p) => (
        <g key={p.r.quantization}>
          <circle cx={x(p.r.bytes)} cy={y(p.kl)} r="4" fill="var(--accent, #3b82f6)" />
          <text x={x(p.r.bytes)} y={y(p.kl) - 8} fontSize="10" textAnchor="middle">
            {p.r.quantization}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** compare-quants for one checkpoint: the table (size, fits, tokens/s, quality), the chart, deploy a row. */
export function QuantCompare(props: {
  job: Job;
  checkpoint: Checkpoint;
  onDeploy(job: Job, checkpoint: Checkpoint, quantization: Quantization): void;
}) {
  const api = getApi();
  const [result, setResult] = useState<CompareResult>();
  const [progress, setProgress] = useState<QualityJobProgress>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [kept, setKept] = useState<QualityReport[]>([]);
  const abort = useRef<AbortController | undefined>(undefined);
  const path = props.checkpoint.path;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when a new result was measured
  useEffect(() => {
    let live = true;
    api.quality
      .reports(path)
      .then((r) => live && setKept(r))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, path, result]);
  const latest = [...new Map([...kept].reverse().map((r) => [r.model_type, r] as const)).values()]; // newest per type
  const quality = api.quality;
  const run = async () => {
    setBusy(true);
    setError(undefined);
    abort.current = new AbortController();
    try {
      const r = await quality.compare(
        {
          job_id: props.job.id,
          ...(props.checkpoint.relative_path === '.'
            ? {}
            : { checkpoint_path: props.checkpoint.relative_path }),
        },
        setProgress,
        abort.current.signal,
      );
      setResult(r);
    } catch (e) {
      if (!abort.current?.signal.aborted) setError(e); // a cancel is not an error
    } finally {
      setBusy(false);
      setProgress(undefined);
      abort.current = undefined;
    }
  };
  return (
    <section className="quant-compare" aria-label="Compare quantizations">
      <header>
        <h3>Compare quantizations</h3>
        <button type="button" onClick={run} disabled={busy}>
          {busy ? 'Measuring…' : result ? 'Measure again' : 'Compare F16, Q8_0, Q5_K_M, Q4_K_M'}
        </button>
        {busy ? (
          <button type="button" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        ) : null}
      </header>
      {latest.length > 0 ? (
        <ul className="quant-verdicts" aria-label="Measured quality">
          {latest.map((r) => (
            <li key={r.model_type}>
              <strong>{qualityVerdict(r)}</strong> <span className="muted">— {qualityReading(r)}</span>
            </li>
          ))}
        </ul>
      ) : result ? null : (
        <p className="muted">
          Quality not measured yet: the deploy picks a type from memory alone. Compare to see what each costs.
        </p>
      )}
      {busy && progress ? (
        <progress
          aria-label={`${progress.quantization} ${progress.phase}`}
          max={progress.total > 0 ? progress.total : undefined}
          value={progress.total > 0 ? progress.done : undefined}
        />
      ) : null}
      {busy && progress ? (
        <p className="muted" aria-live="polite">
          {progress.quantization}: {progress.phase === 'convert' ? 'converting' : 'measuring'} (
          {progress.stage}){' '}
          {progress.total > 0 ? `${Math.round((progress.done / progress.total) * 100)} %` : ''}
        </p>
      ) : null}
      {error ? <ErrorNote error={error as { code: string; message: string }} /> : null}
      {result ? (
        <>
          <table className="quant-table">
            <thead>
              <tr>
                <th>type</th>
                <th>size</th>
                <th>fits here</th>
                <th>tokens/s</th>
                <th>KL mean</th>
                <th>top-1</th>
                <th>PPL</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {result.rows.map((r) => (
                <tr
                  key={r.quantization}
                  title={r.report ? `${qualityVerdict(r.report)}: ${qualityReading(r.report)}` : ''}
                >
                  <td className="mono">{r.quantization}</td>
                  <td>{formatBytes(r.bytes)}</td>
                  <td title={r.fit_detail}>{r.fit ? r.fit.replace(/_/g, ' ') : '?'}</td>
                  <td>{r.tokens_per_second ? r.tokens_per_second.toFixed(0) : '–'}</td>
                  <td>{r.reference ? 'reference' : (r.report?.kl_mean.toFixed(4) ?? '–')}</td>
                  <td>
                    {r.report
                      ? `${(r.report.top1_agreement * 100).toFixed(1)} %`
                      : r.reference
                        ? '100 %'
                        : '–'}
                  </td>
                  <td>
                    {r.report
                      ? `${r.report.ppl_ratio >= 1 ? '+' : ''}${((r.report.ppl_ratio - 1) * 100).toFixed(2)} %`
                      : '–'}
                  </td>
                  <td>
                    <button
                      type="button"
                      onClick={() =>
                        props.onDeploy(props.job, props.checkpoint, r.quantization as Quantization)
                      }
                    >
                      Deploy {r.quantization}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <SizeKlChart result={result} />
          <p className="muted">
            Measured here over{' '}
            {result.text.source === 'default' ? "Berth's evaluation text" : result.text.name}: KL divergence
            of each type's next-token distribution from F16's, and how often both pick the same next token.
          </p>
        </>
      ) : null}
    </section>
  );
}
