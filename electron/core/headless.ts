import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from './api/server.js';
import { type Core, createCore } from './app.js';
import { resolveHome } from './paths.js';
import { writePrivateFile } from './private-fs.js';
import { appRoot } from './version.js';

export interface HeadlessOptions {
  home?: string;
  host?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
}

export interface Headless {
  core: Core;
  api: ApiServer;
  /** The UI's address, with the token in the fragment (never sent to the server, never logged). */
  uiUrl: string;
  close(): Promise<void>;
}

/**
 * Headless mode: the whole core, the local HTTP API and the built UI on one port. Used by `berth serve` on
 * remote GPU boxes (reach it over an SSH tunnel), by `npm start` where Electron is missing, and by e2e tests.
 */
export async function startHeadless(options: HeadlessOptions = {}): Promise<Headless> {
  const env = options.env ?? process.env;
  const home = options.home ?? resolveHome(env);
  const core = await createCore({ home, mode: 'headless', env });
  const settings = core.settings.get();
  const staticDir = join(appRoot(), 'dist', 'renderer');
  let api: ApiServer;
  try {
    api = await startApiServer(core, {
      host: options.host ?? settings.api.host,
      port: options.port ?? settings.api.port,
      ...(existsSync(staticDir) ? { staticDir } : {}),
    });
  } catch (error) {
    await core.close();
    throw error;
  }
  core.apiUrl = api.url;
  writePrivateFile(
    core.paths.apiInfoFile,
    JSON.stringify({ url: api.url, pid: process.pid, mode: 'headless' }),
  );
  return {
    core,
    api,
    uiUrl: `${api.url}/#token=${api.token}`,
    async close() {
      rmSync(core.paths.apiInfoFile, { force: true });
      await api.close();
      await core.close();
    },
  };
}
