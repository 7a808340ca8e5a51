import { useEffect, useState } from 'react';
import type { ServerInfo } from '../../../shared/servers.js';
import { getApi } from '../api/index.js';
import { formatBytes, formatDuration } from '../format.js';
import { snippets } from '../snippets.js';
import { useServerLogsStore } from '../stores/serverLogs.js';
import { ErrorNote } from './ErrorNote.js';
import { LogView } from './LogView.js';
import { QualityVerdict } from './QualityVerdict.js';

const BACKEND_LABEL = { vllm: 'vLLM', ollama: 'Ollama', llamacpp: 'Built-in engine' } as const;
const LIVE = new Set(['starting', 'running', 'stopping']);

/** One server: who it is, where it answers, how it is doing, and the controls. */
export function ServerCard(props: { server: ServerInfo }) {
  const s = props.server;
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [tab, setTab] = useState<'none' | 'logs' | 'curl' | 'python' | 'typescript'>('none');
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [copied, setCopied] = useState(false);
  const logs = useServerLogsStore((st) => st.logs[s.id]);
  const now = useNow(s.status === 'running');

  const act = async (label: string, fn: () => Promise<unknown>) => {
    setBusy(label);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };
  const showTab = (next: typeof tab) => {
    const target = tab === next ? 'none' : next;
    if (target === 'logs') void useServerLogsStore.getState().open(s.id);
    else if (tab === 'logs') useServerLogsStore.getState().close(s.id);
    setTab(target);
  };
  const uptime =
    s.status === 'running' && s.started_at ? formatDuration((now - Date.parse(s.started_at)) / 1000) : '–';
  const code = tab !== 'none' && tab !== 'logs' ? snippets(s)[tab] : undefined;

  return (
    <article
      className={`card server-card server-${s.status}${tab === 'none' ? '' : ' expanded'}`}
      aria-label={`server ${s.name}`}
    >
      <header>
        <strong className="server-name">{s.name}</strong>
        <span className={`status status-${s.status}`}>{s.status}</span>
      </header>
      <div className="server-url">
        <code>{s.openai_base_url}</code>
        <button
          type="button"
          className="secondary small"
          aria-label={`Copy URL of ${s.name}`}
          onClick={() => {
            void navigator.clipboard?.writeText(s.openai_base_url);
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <dl className="facts compact">
        <dt>Backend</dt>
        <dd>{BACKEND_LABEL[s.server_type]}</dd>
        <dt>Model</dt>
        <dd>
          <code>{s.model_name}</code>
          {s.quantization ? ` · ${s.quantization}` : ''}
        </dd>
        <QualityVerdict server={s} />
        <dt>Port</dt>
        <dd>{s.port}</dd>
        <dt>Uptime</dt>
        <dd>{uptime}</dd>
        <dt>PID</dt>
        <dd>{s.pid ?? '–'}</dd>
        <dt>GPU memory</dt>
        <dd>{s.gpu_memory_bytes !== undefined ? formatBytes(s.gpu_memory_bytes) : '–'}</dd>
        {s.restarts > 0 ? (
          <>
            <dt>Restarts</dt>
            <dd>{s.restarts}</dd>
          </>
        ) : null}
      </dl>
      {s.error ? <ErrorNote error={s.error} /> : null}
      <ErrorNote error={error} />
      <div className="card-actions">
        {LIVE.has(s.status) ? (
          <button
            type="button"
            className="secondary"
            disabled={!!busy}
            onClick={() => act('stop', () => getApi().servers.stop(s.id))}
          >
            {busy === 'stop' ? 'Stopping…' : 'Stop'}
          </button>
        ) : null}
        <button
          type="button"
          className="secondary"
          disabled={!!busy}
          onClick={() => act('restart', () => getApi().servers.restart(s.id))}
        >
          {busy === 'restart' ? 'Restarting…' : s.status === 'running' ? 'Restart' : 'Start'}
        </button>
        <button
          type="button"
          className="secondary"
          aria-pressed={tab === 'logs'}
          onClick={() => showTab('logs')}
        >
          Logs
        </button>
        {(['curl', 'python', 'typescript'] as const).map((k) => (
          <button
            key={k}
            type="button"
            className="secondary"
            aria-pressed={tab === k}
            onClick={() => showTab(k)}
          >
            {k === 'curl' ? 'curl' : k === 'python' ? 'Python' : 'TypeScript'}
          </button>
        ))}
        {confirmRemove ? (
          <span className="confirm">
            Remove {s.name}?{' '}
            <button
              type="button"
              className="danger"
              onClick={() => act('remove', () => getApi().servers.remove(s.id))}
            >
              Remove
            </button>{' '}
            <button type="button" className="secondary" onClick={() => setConfirmRemove(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="secondary" onClick={() => setConfirmRemove(true)}>
            Remove
          </button>
        )}
      </div>
      {tab === 'logs' ? <LogView lines={logs ?? []} label={`Log of ${s.name}`} height={240} /> : null}
      {code ? (
        <div className="snippet">
          <pre className="mono">{code}</pre>
          <button
            type="button"
            className="secondary small"
            onClick={() => void navigator.clipboard?.writeText(code)}
          >
            Copy snippet
          </button>
        </div>
      ) : null}
    </article>
  );
}

/** The current time, ticking once a second while `active`. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}
