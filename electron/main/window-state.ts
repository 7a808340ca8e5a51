import type { KeyValueStore } from '../core/settings/store.js';

/** The window's last position and size, remembered across launches. */
export interface WindowBounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

const KEY = 'window';

export function loadBounds(store: KeyValueStore): WindowBounds | undefined {
  const value = store.get(KEY) as Partial<WindowBounds> | undefined;
  if (!value || typeof value.width !== 'number' || typeof value.height !== 'number') return undefined;
  if (value.width < 400 || value.height < 300) return undefined;
  return value as WindowBounds;
}

export function saveBounds(store: KeyValueStore, bounds: WindowBounds): void {
  store.set(KEY, bounds);
}
