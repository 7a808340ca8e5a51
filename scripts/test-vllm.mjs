// `npm run test:vllm`: the real-vLLM suites. Sets up the pinned vLLM venv first (cached: seconds when it is
// there, minutes the first time; see scripts/setup-vllm.mjs), then runs the suites that need it with
// BERTH_REAL_VLLM=1. Extra arguments go to setup:vllm (--cpu, --cuda, --venv DIR).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const SUITES = [
  'electron/core/servers/backends/vllm.real.test.ts',
  'electron/core/deploy/real-vllm.http.test.ts',
];

function run(cmd, args, env = process.env) {
  process.stderr.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const started = Date.now();
run(process.execPath, [join(root, 'scripts', 'setup-vllm.mjs'), ...process.argv.slice(2)]);
const setupDone = Date.now();
// one retry per test: the CPU build on two cores now and then answers a request late; a real break fails twice
run(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--retry=1', ...SUITES], {
  ...process.env,
  BERTH_REAL_VLLM: '1',
});
const s = (ms) => `${Math.round(ms / 1000)} s`;
process.stderr.write(
  `test:vllm: set-up ${s(setupDone - started)}, suites ${s(Date.now() - setupDone)}, total ${s(Date.now() - started)}\n`,
);
