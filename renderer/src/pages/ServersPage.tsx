import { EmptyState } from '../components/EmptyState.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { ServerCard } from '../components/ServerCard.js';
import { useAppStore } from '../stores/app.js';
import { useServersStore } from '../stores/servers.js';

const ORDER = { running: 0, starting: 1, stopping: 2, crashed: 3, failed: 4, stopped: 5 } as const;

/** Servers: one card per inference server Berth runs. */
export function ServersPage() {
  const { servers, loaded, error } = useServersStore();
  const navigate = useAppStore((s) => s.navigate);
  const list = Object.values(servers).sort(
    (a, b) => ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name),
  );
  return (
    <section aria-labelledby="servers-title">
      <h1 id="servers-title">Servers</h1>
      {error ? <ErrorNote error={{ message: error }} /> : null}
      {loaded && list.length === 0 && !error ? (
        <EmptyState
          title="No servers yet"
          action={
            <button type="button" onClick={() => navigate('checkpoints')}>
              Pick a checkpoint to deploy
            </button>
          }
        >
          Deploy a checkpoint and its OpenAI-compatible server shows up here, with its URL, logs and controls.
        </EmptyState>
      ) : null}
      <div className="cards">
        {list.map((s) => (
          <ServerCard key={s.id} server={s} />
        ))}
      </div>
    </section>
  );
}
