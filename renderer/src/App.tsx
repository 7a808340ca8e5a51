import { useEffect } from 'react';
import { PendingPrograms } from './components/PendingPrograms.js';
import { CheckpointsPage } from './pages/CheckpointsPage.js';
import { DeployPage } from './pages/DeployPage.js';
import { PlaygroundPage } from './pages/PlaygroundPage.js';
import { ServersPage } from './pages/ServersPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { SystemPage } from './pages/SystemPage.js';
import { PAGES, useAppStore } from './stores/app.js';
import { useServersStore } from './stores/servers.js';

/** The window: navigation on the left, one page on the right. */
export function App() {
  const { page, navigate, info, load, error } = useAppStore();
  const servers = useServersStore((s) => s.servers);
  const running = Object.values(servers).filter((s) => s.status === 'running').length;
  useEffect(() => {
    void load();
    void useServersStore.getState().load();
  }, [load]);
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Sections">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ⚓
          </span>{' '}
          Berth
        </div>
        <ul>
          {PAGES.map((p) => (
            <li key={p.id}>
              <a
                href={`#/${p.id}`}
                aria-current={page === p.id ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(p.id);
                }}
              >
                {p.label}
                {p.id === 'servers' && running > 0 ? <span className="badge">{running}</span> : null}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot muted">
          {info ? `v${info.version} · ${info.mode === 'electron' ? 'desktop' : 'headless'}` : ''}
        </div>
      </nav>
      <main className="content">
        {error ? <div className="error-note">{error}</div> : null}
        <PendingPrograms />
        {page === 'checkpoints' ? <CheckpointsPage /> : null}
        {page === 'deploy' ? <DeployPage /> : null}
        {page === 'servers' ? <ServersPage /> : null}
        {page === 'playground' ? <PlaygroundPage /> : null}
        {page === 'system' ? <SystemPage /> : null}
        {page === 'settings' ? <SettingsPage /> : null}
      </main>
    </div>
  );
}
