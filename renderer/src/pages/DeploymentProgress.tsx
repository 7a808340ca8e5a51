import type { DeployStage } from '../../../shared/deploy.js';
import { qualityReading } from '../../../shared/quality.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { LogView } from '../components/LogView.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { Stepper } from '../components/Stepper.js';
import { formatBytes, formatDuration } from '../format.js';
import { useAppStore } from '../stores/app.js';
import { type DeploymentView, useDeploymentsStore } from '../stores/deployments.js';

/** A deployment in progress: the stage stepper, a progress bar with amounts and ETA, and the live log. */
export function DeploymentProgress(props: { deployment: DeploymentView }) {
  const d = props.deployment;
  const cancel = useDeploymentsStore((s) => s.cancel);
  const skipQuality = useDeploymentsStore((s) => s.skipQuality);
  const navigate = useAppStore((s) => s.navigate);
  const active = (Object.keys(d.stages) as DeployStage[]).find((s) => d.stages[s] === 'started');
  const p = active ? d.progress[active] : undefined;
  const finished = d.status === 'succeeded' || d.status === 'failed' || d.status === 'cancelled';
  let detail: string | undefined;
  if (p) {
    const amounts =
      p.unit === 'bytes'
        ? `${formatBytes(p.done)} of ${formatBytes(p.total)}`
        : `${p.done} of ${p.total} ${p.unit}`;
    const elapsed = (Date.now() - p.started_at) / 1000;
    const eta = p.eta_s ?? (p.done > 0 ? (elapsed * (p.total - p.done)) / p.done : undefined);
    detail = `${amounts}${eta !== undefined && p.done < p.total ? ` · about ${formatDuration(eta)} left` : ''}${p.detail ? ` · ${p.detail}` : ''}`;
  }
  return (
    <section className="deployment" aria-label={`Deployment of ${d.label}`}>
      <header className="deployment-head">
        <h2>
          Deploying {d.label} <span className={`status status-${d.status}`}>{d.status}</span>
        </h2>
        {!finished ? (
          <span>
            {d.stages.quality === 'started' ? (
              <button
                type="button"
                className="secondary"
                title="Stop measuring and start the server now, without a quality report"
                onClick={() => void skipQuality(d.id).catch(() => undefined)}
              >
                Skip measurement
              </button>
            ) : null}{' '}
            <button type="button" className="danger" onClick={() => void cancel(d.id)}>
              Cancel
            </button>
          </span>
        ) : null}
      </header>
      <Stepper stages={d.stages} notes={d.notes} />
      <QualityStageNote deployment={d} />
      {active && p ? (
        <ProgressBar
          label={`${active} progress`}
          done={p.done}
          total={p.total}
          {...(detail ? { detail } : {})}
        />
      ) : null}
      {active && !p ? (
        <ProgressBar label={`${active} progress`} done={0} total={0} detail={`${active}…`} />
      ) : null}
      {d.error ? <ErrorNote error={d.error} /> : null}
      {d.result ? (
        <div className="success-note" role="status">
          <strong>Running.</strong> OpenAI-compatible API at <code>{d.result.openai_base_url}</code>, model{' '}
          <code>{d.result.model_name}</code>.{' '}
          <button type="button" onClick={() => navigate('servers')}>
            Open Servers
          </button>{' '}
          <button type="button" className="secondary" onClick={() => navigate('playground')}>
            Try it in the Playground
          </button>
        </div>
      ) : null}
      <h3>Log</h3>
      <LogView lines={d.logs} label="Deployment log" height={300} />
    </section>
  );
}

/**
 * The quality stage's outcome under the stepper: the verdict with its plain reading, the coded error of a
 * measurement that failed (the deployment goes on without it), or why it did not run when it was asked for.
 */
function QualityStageNote(props: { deployment: DeploymentView }) {
  const d = props.deployment;
  const state = d.stages.quality;
  const note = d.notes.quality;
  const report = d.result?.quality?.report;
  if (state === 'done' && note?.detail) {
    return (
      <p className="quality-note" role="status" aria-label="Quality measurement">
        <strong>Quality:</strong> {note.detail}
        {report ? <span className="why">{qualityReading(report)}</span> : null}
      </p>
    );
  }
  if (state === 'failed' && note?.error) {
    return (
      <section className="quality-note" aria-label="Quality measurement">
        <p>
          <strong>Quality was not measured</strong>
          {d.status === 'cancelled' ? '.' : '; the server starts anyway.'}
        </p>
        <ErrorNote error={note.error} />
      </section>
    );
  }
  if (state === 'skipped' && note?.error) {
    return (
      <p className="quality-note" role="note" aria-label="Quality measurement">
        <strong>Quality measurement skipped</strong>; the server starts without a report. {note.error.hint}
      </p>
    );
  }
  if (state === 'skipped' && d.request.measure_quality && note?.detail) {
    return (
      <p className="quality-note" role="note" aria-label="Quality measurement">
        <strong>Quality not measured:</strong> {note.detail}
      </p>
    );
  }
  return null;
}
