import type { Job } from '../../../../shared/checkpoints.js';

/** Runs and models registered before, newest first; click one to show it. */
export function RecentRuns(props: {
  jobs: Job[];
  selectedId: string | undefined;
  onSelect(id: string): void;
  onRemove(id: string): void;
}) {
  return (
    <nav className="ckpt-recent" aria-label="Recent runs">
      <h2>Recent</h2>
      <ul>
        {props.jobs.map((j) => (
          <li key={j.id} aria-current={j.id === props.selectedId ? 'true' : undefined}>
            <button
              type="button"
              className="ckpt-recent-item"
              onClick={() => props.onSelect(j.id)}
              title={j.path}
            >
              <span className="ckpt-recent-name">{j.name}</span>
              <span className="muted">
                {j.kind ?? 'model'} · {j.checkpoints.length} checkpoint{j.checkpoints.length === 1 ? '' : 's'}
                {j.error ? ' · unreadable' : ''}
              </span>
            </button>
            <button
              type="button"
              className="ckpt-remove"
              aria-label={`Forget ${j.name}`}
              title="Forget (the folder is not touched)"
              onClick={() => props.onRemove(j.id)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
