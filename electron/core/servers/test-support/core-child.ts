/**
 * A Berth core in its own process, for the test that kills Berth with SIGKILL: it starts the servers named on
 * its command line (vLLM stand-in), prints one JSON line with their infos, then waits to be killed.
 * Usage: npx tsx core-child.ts <name>...   (BERTH_HOME and PYTHONPATH come from the environment)
 */
import { createCore } from '../../app.js';
import type { Backend } from '../backend.js';
import { preparedModel, withStandinKnobs } from './standin.js';

const core = await createCore({ home: process.env.BERTH_HOME as string, mode: 'headless' });
const backend = withStandinKnobs(core.backends.vllm as Backend, { BERTH_STANDIN_DELAY_MS: '100' });
const infos = await Promise.all(
  process.argv.slice(2).map((name) => core.servers.start({ name, backend, model: preparedModel(name) })),
);
process.stdout.write(`${JSON.stringify(infos)}\n`);
setInterval(() => {}, 60_000);
