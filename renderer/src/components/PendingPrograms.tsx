import { useState } from 'react';
import type { PendingSetting } from '../../../shared/settings.js';
import { useAppStore } from '../stores/app.js';
import { ErrorNote } from './ErrorNote.js';

const LABELS: Record<PendingSetting['key'], string> = {
  'python.converter': 'Converter Python',
  'python.vllm': 'Python with vLLM',
  'ollama.binary': 'Ollama binary',
};

/**
 * Programs a script named through the local API. Berth runs none of them until the user applies the change
 * here, so a request alone can never make Berth start a program of its choosing.
 */
export function PendingPrograms() {
  const { pending, applyPending, discardPending } = useAppStore();
  const [error, setError] = useState<unknown>();
  if (pending.length === 0) return null;
  return (
    <div className="warning-note pending-programs" role="alert" aria-label="Program settings to review">
      {pending.map((p) => (
        <div key={p.key} className="pending-row">
          <div>
            <strong>{LABELS[p.key]} changed</strong> over the local API to{' '}
            <code className="mono">{p.value}</code> ({new Date(p.changed_at).toLocaleString()}). Berth will
            not run it until you apply it.
          </div>
          <div className="actions">
            <button type="button" onClick={() => applyPending(p.key).catch(setError)}>
              Use it
            </button>
            <button type="button" className="secondary" onClick={() => discardPending(p.key).catch(setError)}>
              Discard
            </button>
          </div>
        </div>
      ))}
      <ErrorNote error={error} />
    </div>
  );
}
