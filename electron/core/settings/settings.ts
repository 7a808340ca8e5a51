import {
  type Settings,
  type SettingsPatch,
  SettingsPatchSchema,
  SettingsSchema,
} from '../../../shared/settings.js';
import { BerthError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { KeyValueStore } from './store.js';

const KEY = 'settings';

/** Validated settings over a key-value store; every change is announced on the bus. */
export class SettingsService {
  constructor(
    private readonly store: KeyValueStore,
    private readonly bus: EventBus,
  ) {}

  /** The current settings, defaults filled in. A corrupt stored value falls back to defaults field by field. */
  get(): Settings {
    const raw = this.store.get(KEY);
    const parsed = SettingsSchema.safeParse(raw ?? {});
    return parsed.success ? parsed.data : SettingsSchema.parse({});
  }

  /** Applies a partial update, one level deep, and persists it. */
  update(patch: unknown): Settings {
    const parsed = SettingsPatchSchema.safeParse(patch);
    if (!parsed.success) {
      throw new BerthError(
        'INVALID_REQUEST',
        `Invalid settings: ${parsed.error.issues[0]?.message ?? 'unknown'}`,
      );
    }
    const next = mergeSettings(this.get(), parsed.data);
    this.store.set(KEY, next);
    this.bus.emit({ type: 'settings.changed' });
    return next;
  }
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
