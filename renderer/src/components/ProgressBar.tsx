/** A labelled progress bar with amounts and an ETA. */
export function ProgressBar(props: { label: string; done: number; total: number; detail?: string }) {
  const pct = props.total > 0 ? Math.min(100, (100 * props.done) / props.total) : 0;
  return (
    <div className="progress">
      <div
        className="progress-track"
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <div className="progress-text muted">
        {Math.floor(pct)}%{props.detail ? ` · ${props.detail}` : ''}
      </div>
    </div>
  );
}
