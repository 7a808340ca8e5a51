import { useEffect, useState } from 'react';
import type { ConverterEnv } from '../../../../shared/conversion.js';
import type { Progress } from '../../../../shared/events.js';
import { getApi } from '../../api/index.js';
import { onCoreEvents } from '../../stores/connect.js';
import { ErrorNote } from '../ErrorNote.js';
import { ProgressBar } from '../ProgressBar.js';

type SetupState = { state: 'running' | 'done' | 'failed'; progress?: Progress; error?: unknown };
let latest: SetupState | undefined;
const listeners = new Set<(s: SetupState) => void>();
onCoreEvents((events) => {
  for (const e of events) {
    if (e.type !== 'converter.setup') continue;
    latest = {
      state: e.state,
      ...(e.progress ? { progress: e.progress } : {}),
      ...(e.error ? { error: e.error } : {}),
    };
    for (const l of listeners) l(latest);
  }
});

/** Whether the GGUF converter can run, what is missing, and a button that sets it up with a progress bar. */
export function ConverterSetup() {
  const [env, setEnv] = useState<ConverterEnv>();
  const [setup, setSetup] = useState<SetupState | undefined>(latest);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const refresh = () => getApi().conversions.env().then(setEnv, setError);
    void refresh();
    const listener = (s: SetupState) => {
      setSetup(s);
      if (s.state !== 'running') void refresh();
    };
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  const running = setup?.state === 'running';
  return (
    <div className="converter-setup">
      <ErrorNote error={error} />
      {env ? (
        <p>
          <span className={`status ${env.ready ? 'status-running' : 'status-failed'}`}>
            {env.ready ? 'ready' : 'not ready'}
          </span>{' '}
          {env.python ? <code>{env.python}</code> : 'no Python found'}
          {env.source !== 'none' ? (
            <span className="muted">
              {' '}
              (
              {env.source === 'repo'
                ? "the project's python/.venv"
                : env.source === 'berth'
                  ? "Berth's own environment"
                  : 'from Settings'}
              )
            </span>
          ) : null}
        </p>
      ) : (
        <p className="muted">Checking…</p>
      )}
      {env && !env.ready ? (
        <p className="muted">
          Missing: {env.missing.join(', ') || 'the environment'}. {env.hint}
        </p>
      ) : null}
      {running ? (
        <ProgressBar
          label="Converter setup"
          done={setup?.progress?.done ?? 0}
          total={setup?.progress?.total ?? 3}
          {...(setup?.progress?.detail ? { detail: setup.progress.detail } : {})}
        />
      ) : null}
      {setup?.state === 'failed' ? <ErrorNote error={setup.error} /> : null}
      <button
        type="button"
        className="secondary"
        disabled={running}
        onClick={() => getApi().conversions.setup().catch(setError)}
      >
        {running ? 'Setting up…' : env?.ready ? 'Set up again' : 'Set up the converter'}
      </button>
      <span className="why">
        Creates a Python environment in Berth&apos;s data folder with gguf, numpy and sentencepiece (from
        PyPI).
      </span>
    </div>
  );
}
