import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The engine's entry, run from source through tsx (tests need no build). */
export const ENGINE_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** A free loopback port (bound and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface EngineProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once GET /health answers 200; rejects if the process exits first. */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the real engine as a child process on a free port. */
export async function startEngine(args: string[], port?: number): Promise<EngineProcess> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', ENGINE_MAIN, '--port', String(chosen), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (data: Buffer) => lines.push(...data.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exitedYet = false;
  void exited.then(() => {
    exitedYet = true;
  });
  const baseUrl = `http://127.0.0.1:${chosen}`;
  return {
    child,
    port: chosen,
    baseUrl,
    lines,
    exited,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exitedYet) throw new Error(`engine exited before ready:\n${lines.join('\n')}`);
        const status = await fetch(`${baseUrl}/health`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`engine not ready after ${timeoutMs} ms:\n${lines.join('\n')}`);
    },
    async kill(signal = 'SIGTERM') {
      if (!exitedYet) child.kill(signal);
      return exited;
    },
  };
}
