import Conf from 'conf';

/**
 * The small persistence interface the core depends on. The Electron shell passes an electron-store;
 * headless mode and tests pass a conf store in BERTH_HOME (electron-store is built on conf, so the files match).
 */
export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** A JSON-file store under `dir` (plain Node; no electron). */
export function createFileStore(dir: string, name = 'config'): KeyValueStore {
  const conf = new Conf<Record<string, unknown>>({
    cwd: dir,
    configName: name,
    projectName: 'berth',
    configFileMode: 0o600,
  });
  return {
    get: (key) => conf.get(key),
    set: (key, value) => conf.set(key, value),
    delete: (key) => conf.delete(key),
  };
}

/** A store kept in memory only (for tests that must not touch disk). */
export function createMemoryStore(initial: Record<string, unknown> = {}): KeyValueStore {
  const data = new Map(Object.entries(initial));
  return {
    get: (key) => structuredClone(data.get(key)),
    set: (key, value) => void data.set(key, structuredClone(value)),
    delete: (key) => void data.delete(key),
  };
}
