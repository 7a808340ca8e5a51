import type { DeployStage } from '../../../shared/deploy.js';
import type { StageState } from '../../../shared/deployments.js';

const LABELS: Record<DeployStage, string> = {
  inspect: 'Inspect',
  convert: 'Convert',
  quantize: 'Quantize',
  quality: 'Quality',
  import: 'Import',
  start: 'Start',
  healthy: 'Healthy',
};
const ICONS: Record<StageState, string> = {
  pending: '○',
  started: '◐',
  done: '●',
  skipped: '–',
  failed: '✕',
};

/** inspect -> convert -> quantize -> quality -> import -> start -> healthy, each with its state. */
export function Stepper(props: {
  stages: Record<DeployStage, StageState>;
  /** Per stage: why it was skipped, or what it found (shown as the step's tooltip). */
  notes?: Partial<Record<DeployStage, { detail?: string }>>;
}) {
  return (
    <ol className="stepper" aria-label="Deployment stages">
      {(Object.keys(LABELS) as DeployStage[]).map((stage) => {
        const state = props.stages[stage];
        return (
          <li
            key={stage}
            className={`step step-${state}`}
            aria-current={state === 'started' ? 'step' : undefined}
            title={props.notes?.[stage]?.detail}
          >
            <span className="step-icon" aria-hidden="true">
              {ICONS[state]}
            </span>
            <span className="step-label">{LABELS[stage]}</span>
            <span className="visually-hidden">: {state}</span>
          </li>
        );
      })}
    </ol>
  );
}
