import {
  type ExecutableSetting,
  type PendingSetting,
  type Settings,
  type SettingsPatch,
  SettingsPatchSchema,
  SettingsSchema,
} from '../../../shared/settings.js';
import { BerthError } from '../errors.js';
import type { EventBus } from '../events.js';
import { assertExecutable, isLoopbackHost } from './checks.js';
import type { KeyValueStore } from './store.js';

const KEY = 'settings';
const PENDING_KEY = 'settings_pending';

/**
 * Who asks for a change. `local`: the window (IPC) or an in-process caller such as the CLI, trusted to name
 * programs. `http`: the local API, where a change that names a program waits until the user applies it in the
 * window, so a request alone never gets Berth to run a program of the caller's choosing.
 */
export type SettingsOrigin = 'local' | 'http';

/** Validated settings over a key-value store; every change is announced on the bus. */
export class SettingsService {
  constructor(
    private readonly store: KeyValueStore,
    private readonly bus: EventBus,
  ) {}

  /** The current settings, defaults filled in. An invalid stored field falls back to its default alone. */
  get(): Settings {
    return parseLeniently(this.store.get(KEY) ?? {});
  }

  /** Applies a partial update, one level deep, and persists it. */
  update(patch: unknown, origin: SettingsOrigin = 'local'): Settings {
    const parsed = SettingsPatchSchema.safeParse(patch);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BerthError(
        'INVALID_REQUEST',
        `Invalid settings${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'unknown'}`,
        'See GET /api/openapi.json for the settings shape.',
      );
    }
    const data = structuredClone(parsed.data);
    if (origin === 'http' && data.api?.host !== undefined && !isLoopbackHost(data.api.host)) {
      throw new BerthError(
        'SETTING_LOCKED',
        `The API's address cannot be changed to ${data.api.host} over the API`,
        "Binding beyond loopback exposes Berth to the network: change it in the window (Settings) or in Berth's settings file, then restart.",
      );
    }
    const pending = this.pendingMap();
    for (const key of executableKeys(data)) {
      const value = readExecutable(data, key);
      if (value) assertExecutable(key, value);
      if (origin === 'http' && value) {
        pending[key] = { key, value, changed_at: new Date().toISOString() };
        deleteExecutable(data, key);
      } else {
        delete pending[key];
      }
    }
    const next = mergeSettings(this.get(), data);
    this.store.set(KEY, next);
    this.store.set(PENDING_KEY, pending);
    this.bus.emit({ type: 'settings.changed' });
    return next;
  }

  /** Programs named over the API that are not in effect until the user applies them. */
  pending(): PendingSetting[] {
    return Object.values(this.pendingMap());
  }

  /** Puts a pending program into effect (the window's "Use it"); checked again, since the file may have changed. */
  applyPending(key: ExecutableSetting): Settings {
    const pending = this.pendingMap();
    const entry = pending[key];
    if (!entry)
      throw new BerthError(
        'NOT_FOUND',
        `No pending change of ${key}`,
        'GET /api/settings/pending lists them.',
      );
    const [group, field] = key.split('.') as ['python' | 'ollama', string];
    return this.update({ [group]: { [field]: entry.value } }, 'local');
  }

  /** Drops a pending program without using it. */
  discardPending(key: ExecutableSetting): void {
    const pending = this.pendingMap();
    if (!pending[key]) return;
    delete pending[key];
    this.store.set(PENDING_KEY, pending);
    this.bus.emit({ type: 'settings.changed' });
  }

  private pendingMap(): Partial<Record<ExecutableSetting, PendingSetting>> {
    const raw = this.store.get(PENDING_KEY);
    return raw && typeof raw === 'object' ? { ...(raw as Record<string, PendingSetting>) } : {};
  }
}

function executableKeys(patch: SettingsPatch): ExecutableSetting[] {
  const keys: ExecutableSetting[] = [];
  if (patch.python && 'vllm' in patch.python) keys.push('python.vllm');
  if (patch.python && 'converter' in patch.python) keys.push('python.converter');
  if (patch.ollama && 'binary' in patch.ollama) keys.push('ollama.binary');
  return keys;
}

function readExecutable(patch: SettingsPatch, key: ExecutableSetting): string | null | undefined {
  if (key === 'python.vllm') return patch.python?.vllm;
  if (key === 'python.converter') return patch.python?.converter;
  return patch.ollama?.binary;
}

function deleteExecutable(patch: SettingsPatch, key: ExecutableSetting): void {
  if (key === 'python.vllm') delete patch.python?.vllm;
  else if (key === 'python.converter') delete patch.python?.converter;
  else delete patch.ollama?.binary;
}

/** Parses stored settings, dropping only the fields that no longer validate (a hand-edited file, a stricter rule). */
function parseLeniently(raw: unknown): Settings {
  let value = structuredClone(raw);
  for (let attempt = 0; attempt < 20; attempt++) {
    const parsed = SettingsSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const path = parsed.error.issues[0]?.path ?? [];
    if (path.length === 0) break;
    value = withoutPath(value, path);
  }
  return SettingsSchema.parse({});
}

function withoutPath(value: unknown, path: PropertyKey[]): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return undefined;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const i = Number(head);
    return rest.length === 0
      ? value.filter((_, j) => j !== i)
      : value.map((v, j) => (j === i ? withoutPath(v, rest) : v));
  }
  const copy = { ...(value as Record<PropertyKey, unknown>) };
  if (rest.length === 0) delete copy[head as string];
  else copy[head as string] = withoutPath(copy[head as string], rest);
  return copy;
}

/** Drops keys set to null (a cleared setting falls back to its default). */
function withoutNulls<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as T;
}

function mergeSettings(current: Settings, patch: SettingsPatch): Settings {
  return SettingsSchema.parse({
    ...current,
    ...patch,
    api: { ...current.api, ...patch.api },
    python: withoutNulls({ ...current.python, ...patch.python }),
    ollama: withoutNulls({ ...current.ollama, ...patch.ollama }),
    ports: { ...current.ports, ...patch.ports },
  });
}
