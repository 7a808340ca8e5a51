import { useRef, useState } from 'react';
import type { ChatRequest, ChatResult } from '../../../shared/api.js';
import { getApi } from '../api/index.js';
import { EmptyState } from '../components/EmptyState.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAppStore } from '../stores/app.js';
import { useServersStore } from '../stores/servers.js';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  stats?: ChatResult;
}

/** Playground: chat with one server, or send the same prompt to two side by side to compare checkpoints. */
export function PlaygroundPage() {
  const servers = Object.values(useServersStore((s) => s.servers)).filter((s) => s.status === 'running');
  const navigate = useAppStore((s) => s.navigate);
  const [left, setLeft] = useState<string>();
  const [right, setRight] = useState<string>('');
  const [prompt, setPrompt] = useState('');
  const [maxTokens, setMaxTokens] = useState(128);
  const [temperature, setTemperature] = useState(0.7);
  const [turns, setTurns] = useState<Record<string, Turn[]>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController | undefined>(undefined);

  if (servers.length === 0) {
    return (
      <section aria-labelledby="playground-title">
        <h1 id="playground-title">Playground</h1>
        <EmptyState
          title="No running server to talk to"
          action={
            <button type="button" onClick={() => navigate('checkpoints')}>
              Deploy a checkpoint
            </button>
          }
        >
          Once a server runs, chat with it here, or send one prompt to two checkpoints side by side.
        </EmptyState>
      </section>
    );
  }
  const leftId = left && servers.some((s) => s.id === left) ? left : servers[0]!.id;
  const leftServer = servers.find((s) => s.id === leftId)!;
  // a pane is a server, or `<id>#base`: the same server's bare base model (a LoRA adapter served over its base)
  const paneOf = (key: string) => {
    const [id, which] = key.split('#');
    const server = servers.find((s) => s.id === id);
    if (!server || (which === 'base' && !server.base_model_name)) return undefined;
    const base = which === 'base';
    return { key, server, base, title: base ? `${server.name} · base model (no adapter)` : server.name };
  };
  const compareOptions = servers.flatMap((s) => [
    ...(s.id !== leftId ? [{ value: s.id, label: s.name }] : []),
    ...(s.base_model_name ? [{ value: `${s.id}#base`, label: `${s.name} · base model (no adapter)` }] : []),
  ]);
  const rightPane = right && right !== leftId ? paneOf(right) : undefined;
  const panes = [paneOf(leftId)!, ...(rightPane ? [rightPane] : [])];

  const send = async (e: React.FormEvent) => {
    e.preventDefault();
    const text = prompt.trim();
    if (!text || busy) return;
    setPrompt('');
    setBusy(true);
    setError(undefined);
    abort.current = new AbortController();
    const signal = abort.current.signal;
    await Promise.all(
      panes.map(async ({ key: id, server, base }) => {
        const history = [...(turns[id] ?? []), { role: 'user' as const, content: text }];
        setTurns((t) => ({ ...t, [id]: [...history, { role: 'assistant', content: '' }] }));
        const request: ChatRequest = {
          messages: history.map(({ role, content }) => ({ role, content })),
          max_tokens: maxTokens,
          temperature,
          ...(base ? { base: true } : {}),
        };
        const update = (fn: (last: Turn) => Turn) =>
          setTurns((t) => {
            const list = (t[id] ?? []).slice();
            list[list.length - 1] = fn(list[list.length - 1]!);
            return { ...t, [id]: list };
          });
        try {
          const stats = await getApi().servers.chat(
            server.id,
            request,
            (delta) => update((last) => ({ ...last, content: last.content + delta })),
            signal,
          );
          update((last) => ({ ...last, stats }));
        } catch (err) {
          if (!signal.aborted) setError(err);
        }
      }),
    );
    setBusy(false);
  };

  return (
    <section aria-labelledby="playground-title" className="playground">
      <h1 id="playground-title">Playground</h1>
      <div className="playground-controls">
        <label>
          Server{' '}
          <select value={leftId} onChange={(e) => setLeft(e.target.value)}>
            {servers.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Compare with{' '}
          <select value={right} onChange={(e) => setRight(e.target.value)}>
            <option value="">(none)</option>
            {compareOptions.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        {leftServer.base_model_name && right !== `${leftId}#base` ? (
          <button
            type="button"
            className="secondary"
            title={`Send each prompt to ${leftServer.name} and to its base model without the adapter`}
            onClick={() => setRight(`${leftId}#base`)}
          >
            Compare with base model
          </button>
        ) : null}
        <label>
          Max tokens{' '}
          <input
            type="number"
            min={1}
            max={4096}
            value={maxTokens}
            onChange={(e) => setMaxTokens(Number(e.target.value) || 1)}
          />
        </label>
        <label>
          Temperature{' '}
          <input
            type="number"
            min={0}
            max={2}
            step={0.1}
            value={temperature}
            onChange={(e) => setTemperature(Number(e.target.value))}
          />
        </label>
        <button type="button" className="secondary" onClick={() => setTurns({})} disabled={busy}>
          Clear
        </button>
      </div>
      <div className={`panes panes-${panes.length}`}>
        {panes.map(({ key: id, title }) => {
          return (
            <section key={id} className="pane" aria-label={`Chat with ${title}`}>
              <h2>{title}</h2>
              <div className="transcript" aria-live="polite">
                {(turns[id] ?? []).map((turn, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a transcript only grows at its end
                  <div key={i} className={`turn turn-${turn.role}`}>
                    <div className="turn-text">
                      {turn.content || (turn.role === 'assistant' && busy ? '…' : '')}
                    </div>
                    {turn.stats ? (
                      <div className="turn-stats muted">
                        {turn.stats.completion_tokens} tokens · {turn.stats.tokens_per_second.toFixed(1)}{' '}
                        tok/s · first token {Math.round(turn.stats.first_token_ms)} ms
                      </div>
                    ) : null}
                  </div>
                ))}
              </div>
            </section>
          );
        })}
      </div>
      <ErrorNote error={error} />
      <form className="prompt" onSubmit={send}>
        <textarea
          aria-label="Prompt"
          placeholder="Say something to the model (Enter sends, Shift+Enter for a new line)"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        {busy ? (
          <button type="button" className="danger" onClick={() => abort.current?.abort()}>
            Stop
          </button>
        ) : (
          <button type="submit" disabled={!prompt.trim()}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}
