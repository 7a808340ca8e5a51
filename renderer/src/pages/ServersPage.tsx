import { EmptyState } from '../components/EmptyState.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAppStore } from '../stores/app.js';
import { useServersStore } from '../stores/servers.js';

/** Servers: one card per inference server Berth runs. */
export function ServersPage() {
  const { servers, loaded, error } = useServersStore();
  const navigate = useAppStore((s) => s.navigate);
  const list = Object.values(servers);
  return (
    <section aria-labelledby="servers-title">
      <h1 id="servers-title">Servers</h1>
      {error ? <ErrorNote error={{ message: error }} /> : null}
      {loaded && list.length === 0 ? (
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
          <article key={s.id} className="card" aria-label={`server ${s.name}`}>
            <header>
              <strong>{s.name}</strong> <span className={`status status-${s.status}`}>{s.status}</span>
            </header>
            <div className="muted">
              {s.server_type} · {s.base_url}
            </div>
          </article>
        ))}
      </div>
    </section>
  );
}
