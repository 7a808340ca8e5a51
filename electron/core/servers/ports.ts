import { createServer } from 'node:net';
import { BerthError } from '../errors.js';

/** Whether `port` can be bound on 127.0.0.1 right now (bound briefly, then released). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first free port at or after `from`, skipping `avoid` (ports of servers Berth manages). */
export async function nextFreePort(from: number, avoid: ReadonlySet<number>, limit = 200): Promise<number> {
  for (let port = from; port < Math.min(from + limit, 65536); port++) {
    if (avoid.has(port)) continue;
    if (await isPortFree(port)) return port;
  }
  throw new BerthError(
    'PORT_IN_USE',
    `No free port in ${from}-${Math.min(from + limit, 65536) - 1}`,
    'Stop some servers or choose a port explicitly.',
  );
}

export interface PortChoice {
  port: number;
  /** The port asked for (or the default) when another one was used instead. */
  substituted_for?: number;
}

/**
 * The port a server gets: the requested one when free (else PORT_IN_USE naming a free one), or the first free
 * one from the backend's default, reported as a substitution when the default itself was taken.
 */
export async function choosePort(
  requested: number | undefined,
  defaultPort: number,
  avoid: ReadonlySet<number>,
): Promise<PortChoice> {
  if (requested !== undefined) {
    if (!avoid.has(requested) && (await isPortFree(requested))) return { port: requested };
    const free = await nextFreePort(requested + 1, avoid);
    throw new BerthError(
      'PORT_IN_USE',
      `Port ${requested} is already in use`,
      `Choose another port (${free} is free), or leave the port empty to let Berth pick one.`,
      { port: requested, free_port: free },
    );
  }
  const port = await nextFreePort(defaultPort, avoid);
  return port === defaultPort ? { port } : { port, substituted_for: defaultPort };
}
