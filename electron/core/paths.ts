import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where each kind of Berth state lives inside its one data folder. */
export interface BerthPaths {
  home: string;
  settingsDir: string;
  stateFile: (name: string) => string;
  logsDir: string;
  cacheDir: string;
  ggufCacheDir: string;
  tokenFile: string;
  /** Written while an API server runs, so the CLI can find it: { url, pid }. */
  apiInfoFile: string;
  pythonEnvDir: string;
  tmpDir: string;
}

/**
 * The data folder: `BERTH_HOME` when set, else the caller's default (Electron's userData), else
 * a per-user folder that follows platform conventions.
 */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, fallback?: string): string {
  if (env.BERTH_HOME) return resolve(env.BERTH_HOME);
  if (fallback) return resolve(fallback);
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Berth');
  if (process.platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Berth');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Berth');
}

/** Paths of everything under the data folder. */
export function berthPaths(home: string): BerthPaths {
  return {
    home,
    settingsDir: home,
    stateFile: (name) => join(home, 'state', `${name}.json`),
    logsDir: join(home, 'logs'),
    cacheDir: join(home, 'cache'),
    ggufCacheDir: join(home, 'cache', 'gguf'),
    tokenFile: join(home, 'api-token'),
    apiInfoFile: join(home, 'api.json'),
    pythonEnvDir: join(home, 'python-env'),
    tmpDir: join(home, 'tmp'),
  };
}
