import type { Checkpoint, LossPoint } from '../../../../shared/checkpoints.js';

const W = 640;
const H = 220;
const PAD = { left: 48, right: 16, top: 14, bottom: 30 };

/** Three round ticks across [min, max]. */
function ticks(min: number, max: number): number[] {
  if (max === min) return [min];
  return [min, (min + max) / 2, max];
}

/**
 * The run's loss curve as a picture: training loss as a line, eval loss as a dashed line with dots, every
 * checkpoint as a tick on the x axis, the selected one as a vertical rule. Clicking near a checkpoint selects it.
 */
export function LossChart(props: {
  history: LossPoint[];
  checkpoints: Checkpoint[];
  selected: string | undefined;
  onSelect(relativePath: string): void;
}) {
  // Without a log history (e.g. only per-checkpoint states), draw the checkpoints' own losses.
  const points: LossPoint[] =
    props.history.length > 0
      ? props.history
      : props.checkpoints
          .filter((c) => c.step !== undefined && c.training)
          .map((c) => ({
            step: c.step as number,
            ...(c.training?.train_loss !== undefined ? { loss: c.training.train_loss } : {}),
            ...(c.training?.eval_loss !== undefined ? { eval_loss: c.training.eval_loss } : {}),
          }));
  const values = points.flatMap((p) => [p.loss, p.eval_loss]).filter((v): v is number => v !== undefined);
  if (values.length < 2) {
    return <p className="muted ckpt-chart-empty">No loss history in trainer_state.json to draw.</p>;
  }
  const steps = points.map((p) => p.step);
  const x0 = Math.min(...steps, 0);
  const x1 = Math.max(...steps, 1);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  const y0 = lo - span * 0.05;
  const y1 = hi + span * 0.05;
  const sx = (s: number) => PAD.left + ((s - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const sy = (v: number) => PAD.top + (1 - (v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const line = (key: 'loss' | 'eval_loss') =>
    points
      .filter((p) => p[key] !== undefined)
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.step).toFixed(1)},${sy(p[key] as number).toFixed(1)}`)
      .join(' ');
  const evalPoints = points.filter((p) => p.eval_loss !== undefined);
  const marks = props.checkpoints.filter((c) => c.step !== undefined && c.relative_path !== '.');
  const selected = props.checkpoints.find((c) => c.relative_path === props.selected);
  return (
    <figure className="ckpt-chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label="Loss curve across training steps"
        preserveAspectRatio="xMidYMid meet"
      >
        {ticks(lo, hi).map((v) => (
          <g key={`y${v}`}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={sy(v)} y2={sy(v)} />
            <text className="axis" x={PAD.left - 6} y={sy(v) + 4} textAnchor="end">
              {v.toFixed(2)}
            </text>
          </g>
        ))}
        <line
          className="axis-line"
          x1={PAD.left}
          x2={W - PAD.right}
          y1={H - PAD.bottom}
          y2={H - PAD.bottom}
        />
        <text className="axis" x={PAD.left} y={H - 8}>
          {x0}
        </text>
        <text className="axis" x={W - PAD.right} y={H - 8} textAnchor="end">
          step {x1}
        </text>
        {selected?.step !== undefined ? (
          <line
            className="selected-rule"
            x1={sx(selected.step)}
            x2={sx(selected.step)}
            y1={PAD.top}
            y2={H - PAD.bottom}
          />
        ) : null}
        <path className="train" d={line('loss')} />
        <path className="eval" d={line('eval_loss')} />
        {evalPoints.map((p) => (
          <circle
            key={`e${p.step}`}
            className="eval-dot"
            cx={sx(p.step)}
            cy={sy(p.eval_loss as number)}
            r={3}
          />
        ))}
        {marks.map((c) => (
          // biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the table below is the main way to select
          <g
            key={c.relative_path}
            className="ckpt-mark"
            role="button"
            tabIndex={0}
            aria-label={`Select ${c.relative_path}`}
            onClick={() => props.onSelect(c.relative_path)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') props.onSelect(c.relative_path);
            }}
          >
            <title>{c.relative_path}</title>
            <line
              x1={sx(c.step as number)}
              x2={sx(c.step as number)}
              y1={H - PAD.bottom}
              y2={H - PAD.bottom + 6}
            />
            <rect
              x={sx(c.step as number) - 6}
              y={PAD.top}
              width={12}
              height={H - PAD.top - PAD.bottom}
              className="hit"
            />
            {c.is_best ? (
              <text x={sx(c.step as number)} y={PAD.top + 8} textAnchor="middle" className="best-star">
                ★
              </text>
            ) : null}
          </g>
        ))}
      </svg>
      <figcaption className="muted">
        <span className="legend legend-train" /> training loss <span className="legend legend-eval" /> eval
        loss · ticks mark checkpoints{marks.some((c) => c.is_best) ? ' · ★ best' : ''}
      </figcaption>
    </figure>
  );
}
