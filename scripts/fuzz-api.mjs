// API fuzz run: schemathesis (PyPI) against a real `berth serve` in a throwaway BERTH_HOME, from the OpenAPI
// document at /api/openapi.json. The checks that matter: no 5xx for any generated request, and no operation that
// answers without the token (schemathesis' ignored_auth replays each request with no or a wrong token).
// Usage: node scripts/fuzz-api.mjs [--max-examples N]   (creates python/.venv-fuzz with schemathesis once)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(root, 'python', '.venv-fuzz');
const st = join(venv, 'bin', 'schemathesis');
const maxExamples = process.argv.includes('--max-examples')
  ? process.argv[process.argv.indexOf('--max-examples') + 1]
  : '50';

if (!existsSync(st)) {
  spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  const r = spawnSync(join(venv, 'bin', 'pip'), ['install', '-q', 'schemathesis==4.32.5'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const home = mkdtempSync(join(tmpdir(), 'berth-fuzz-'));
const serve = spawn(process.execPath, [join(root, 'bin', 'berth.js'), 'serve', '--port', '0', '--json'], {
  env: { ...process.env, BERTH_HOME: home },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const info = await new Promise((resolve, reject) => {
  let out = '';
  serve.stdout.on('data', (c) => {
    out += c;
    if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
  });
  serve.once('exit', (code) => reject(new Error(`berth serve exited ${code}`)));
});
const token = new URL(info.ui_url).hash.replace('#token=', '');
const reportDir = join(root, 'bench', 'results', 'fuzz');
mkdirSync(reportDir, { recursive: true });
const args = [
  'run',
  `${info.url}/api/openapi.json`,
  '--header',
  `Authorization: Bearer ${token}`,
  '--checks',
  'not_a_server_error,ignored_auth',
  '--max-examples',
  maxExamples,
  '--request-timeout',
  '10',
  '--workers',
  '1',
  // Streams never end by themselves, and regenerating the token would lock the fuzzer out.
  '--exclude-path-regex',
  '(/events$|/token/regenerate$|/chat$)',
  '--report',
  'junit',
  '--report-dir',
  reportDir,
];
const run = spawnSync(st, args, { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } });
serve.kill('SIGTERM');
await new Promise((r) => serve.once('exit', r));
rmSync(home, { recursive: true, force: true });
writeFileSync(
  join(reportDir, 'command.txt'),
  `${st} ${args.join(' ').replace(token, '<token>')}\nexit ${run.status}\n`,
);
process.exit(run.status ?? 1);
