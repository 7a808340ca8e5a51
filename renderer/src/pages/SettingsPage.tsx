import { useState } from 'react';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAppStore } from '../stores/app.js';

/** Settings: where Berth's data lives, ports, and what happens to servers on quit. */
export function SettingsPage() {
  const { info, settings, updateSettings } = useAppStore();
  const [error, setError] = useState<unknown>();
  if (!settings) return <p>Loading…</p>;
  const save = (patch: Parameters<typeof updateSettings>[0]) => updateSettings(patch).catch(setError);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <ErrorNote error={error} />
      <dl className="facts">
        <dt>Data folder</dt>
        <dd className="mono">{info?.home}</dd>
        <dt>Mode</dt>
        <dd>{info?.mode === 'electron' ? 'Desktop app' : 'Headless (berth serve)'}</dd>
        <dt>Local API</dt>
        <dd className="mono">{info?.api_url ?? 'not listening'}</dd>
      </dl>
      <fieldset>
        <legend>Servers</legend>
        <label>
          <input
            type="checkbox"
            checked={settings.keep_servers_on_quit}
            onChange={(e) => save({ keep_servers_on_quit: e.target.checked })}
          />{' '}
          Keep servers running after Berth quits
        </label>
        <label>
          <input
            type="checkbox"
            checked={settings.auto_restart}
            onChange={(e) => save({ auto_restart: e.target.checked })}
          />{' '}
          Restart crashed servers automatically
        </label>
      </fieldset>
      <fieldset>
        <legend>Default ports</legend>
        {(['vllm', 'ollama', 'llamacpp'] as const).map((key) => (
          <label key={key} className="row">
            <span>{key === 'llamacpp' ? 'Built-in engine' : key === 'vllm' ? 'vLLM' : 'Ollama'}</span>
            <input
              type="number"
              min={1024}
              max={65535}
              defaultValue={settings.ports[key]}
              onBlur={(e) => save({ ports: { [key]: Number(e.target.value) } })}
            />
          </label>
        ))}
      </fieldset>
    </section>
  );
}
