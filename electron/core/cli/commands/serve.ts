import { startHeadless } from '../../headless.js';
import type { Command } from '../command.js';
import { watchLauncher } from '../launcher-watch.js';

/** `berth serve`: the core, the API and the UI in a browser (headless mode). */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run Berth headless: the API and the UI in your browser (for GPU boxes over SSH)',
  usage: 'berth serve [--host 127.0.0.1] [--port 7420] [--detached] [--json]',
  options: { host: { type: 'string' }, port: { type: 'string' }, detached: { type: 'boolean' } },
  async run(args, io, env) {
    const port = args.values.port === undefined ? undefined : Number(args.values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      io.err(`error [INVALID_REQUEST]: --port must be a port number, got ${String(args.values.port)}\n`);
      return 2;
    }
    const host = args.values.host as string | undefined;
    const headless = await startHeadless({
      env,
      ...(host ? { host } : {}),
      ...(port !== undefined ? { port } : {}),
    });
    if (args.values.json) {
      io.out(
        `${JSON.stringify({ url: headless.api.url, ui_url: headless.uiUrl, home: headless.core.paths.home })}\n`,
      );
    } else {
      io.out(
        `Berth is running headless.\n  Open: ${headless.uiUrl}\n  API:  ${headless.api.url}/api (token in ${headless.core.paths.tokenFile})\n  Data: ${headless.core.paths.home}\nPress Ctrl+C to stop.\n`,
      );
      if (host && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
        io.err(
          `warning: the API listens on ${host}; anyone who can reach it and has the token controls Berth.\n`,
        );
      }
    }
    // The handlers stay installed until Berth has stopped its servers: with none left, execa's exit hook
    // (signal-exit) re-raises the signal and Node dies halfway through, leaving servers running. A second
    // Ctrl+C only says that Berth is still stopping.
    // SIGHUP (the terminal closed) quits the same way, unless --detached (nohup, setsid) asked to stay.
    const signals: NodeJS.Signals[] = args.values.detached
      ? ['SIGINT', 'SIGTERM']
      : ['SIGINT', 'SIGTERM', 'SIGHUP'];
    let stopping = false;
    let onSignal: () => void = () => {};
    let stopWatching = () => {};
    await new Promise<void>((resolve) => {
      onSignal = () => {
        if (stopping) io.err('Still stopping servers...\n');
        stopping = true;
        resolve();
      };
      for (const s of signals) process.on(s, onSignal);
      if (!args.values.detached) {
        stopWatching = watchLauncher((why) => {
          io.err(`Berth's launcher is gone (${why}).\n`);
          onSignal();
        });
      }
    });
    stopWatching();
    io.err('Stopping Berth...\n');
    // Shutting down waits on children and timers that do not hold the event loop open (servers run in their
    // own process groups): this keeps Node alive until it is done.
    const holdOpen = setInterval(() => {}, 1_000);
    try {
      await headless.close();
    } finally {
      clearInterval(holdOpen);
      for (const s of signals) process.removeListener(s, onSignal);
    }
    io.err('Berth stopped.\n');
    return 0;
  },
};
