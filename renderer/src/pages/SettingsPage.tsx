import { useState } from 'react';
import type { SettingsPatch } from '../../../shared/settings.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { ApiTokenField } from '../components/settings/ApiTokenField.js';
import { ConverterSetup } from '../components/settings/ConverterSetup.js';
import { GgufCache } from '../components/settings/GgufCache.js';
import { useAppStore } from '../stores/app.js';

/** Settings: where Berth's data lives, the API token, Pythons, Ollama, ports, servers on quit, the GGUF cache. */
export function SettingsPage() {
  const { info, settings, updateSettings } = useAppStore();
  const [error, setError] = useState<unknown>();
  if (!settings) return <p>Loading…</p>;
  const save = (patch: SettingsPatch) => updateSettings(patch).catch(setError);
  return (
    <section aria-labelledby="settings-title" className="settings">
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
        <legend>API token</legend>
        <ApiTokenField />
        <TextSetting
          label="API address"
          value={settings.api.host}
          placeholder="127.0.0.1"
          why={
            isLoopback(settings.api.host)
              ? 'Loopback: only programs on this machine reach the API. Takes effect after a restart.'
              : `Warning: ${settings.api.host} exposes Berth's API beyond this machine (the token still applies). Takes effect after a restart.`
          }
          onSave={(v) => save({ api: { host: v ?? '127.0.0.1' } })}
        />
      </fieldset>
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
        <legend>Python</legend>
        <TextSetting
          label="Python with vLLM"
          value={settings.python.vllm}
          placeholder="python3 on PATH"
          why="The interpreter whose vLLM Berth starts (python -m vllm.entrypoints.openai.api_server)."
          onSave={(v) => save({ python: { vllm: v ?? null } })}
        />
        <TextSetting
          label="Python for the converter"
          value={settings.python.converter}
          placeholder="Berth's own environment"
          why="Needs gguf, numpy and sentencepiece; empty means Berth's own environment below."
          onSave={(v) => save({ python: { converter: v ?? null } })}
        />
        <ConverterSetup />
      </fieldset>
      <fieldset>
        <legend>Ollama</legend>
        <TextSetting
          label="Ollama host"
          value={settings.ollama.host}
          placeholder="http://127.0.0.1:11434"
          why="Berth uses the Ollama answering here; when none answers it starts its own."
          onSave={(v) => save({ ollama: { host: v ?? 'http://127.0.0.1:11434' } })}
        />
        <TextSetting
          label="Ollama binary"
          value={settings.ollama.binary}
          placeholder="ollama on PATH"
          why="Used when Berth starts Ollama itself."
          onSave={(v) => save({ ollama: { binary: v ?? null } })}
        />
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
        <span className="why">A new server takes the first free port from these.</span>
      </fieldset>
      <fieldset>
        <legend>Converted models (GGUF cache)</legend>
        <GgufCache />
      </fieldset>
    </section>
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** A text setting saved when the field loses focus; empty means "use the default". */
function TextSetting(props: {
  label: string;
  value: string | undefined;
  placeholder: string;
  why: string;
  onSave(value: string | undefined): void;
}) {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      <input
        key={props.value ?? ''}
        defaultValue={props.value ?? ''}
        placeholder={props.placeholder}
        onBlur={(e) => {
          const v = e.target.value.trim() || undefined;
          if (v !== props.value) props.onSave(v);
        }}
      />
      <span className="why">{props.why}</span>
    </label>
  );
}
