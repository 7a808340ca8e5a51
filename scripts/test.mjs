// `npm test`: typecheck, lint, unit and integration tests (vitest), converter tests (pytest) and e2e
// (Playwright in Debian's Chromium), in that order. Each runner prints its own summary line; this prints a
// table at the end and fails if any step failed. `npm test -- --only=vitest,pytest` runs a subset.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');

const steps = [
  ['build', process.execPath, [join(root, 'scripts', 'build.mjs')]],
  ['typecheck', 'npm', ['run', '-s', 'typecheck']],
  ['lint', bin('biome'), ['check', '.']],
  ['vitest', bin('vitest'), ['run']],
  ['pytest', process.execPath, [join(root, 'scripts', 'pytest.mjs')]],
  ['e2e', bin('playwright'), ['test']],
];

const results = [];
for (const [name, cmd, args] of steps) {
  if (only && !only.includes(name)) continue;
  process.stdout.write(`\n=== ${name} ===\n`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
  results.push({ name, ok: r.status === 0, seconds: ((Date.now() - started) / 1000).toFixed(1) });
}
process.stdout.write('\n=== summary ===\n');
for (const r of results)
  process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(10)} ${r.seconds}s\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
