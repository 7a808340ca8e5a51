import Store from 'electron-store';
import type { KeyValueStore } from '../core/settings/store.js';

/** The core's store interface over electron-store, in Berth's data folder. */
export function createElectronStore(home: string): KeyValueStore {
  const store = new Store<Record<string, unknown>>({ cwd: home, name: 'config', configFileMode: 0o600 });
  return {
    get: (key) => store.get(key),
    set: (key, value) => store.set(key, value),
    delete: (key) => store.delete(key),
  };
}
