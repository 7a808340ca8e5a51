// `npm test`: build, typecheck, lint, unit and integration tests (vitest), converter tests (pytest) and e2e
// (Playwright in Debian's Chromium), in that order. Each runner prints its own summary; this adds a table and
// one closing line with the totals ("tests: N passed, N failed, N skipped"), and fails if any step failed.
// `npm test -- --only=vitest,pytest` runs a subset.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTests } from './test-counts.mjs';

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
  ['pytest', process.execPath, [join(root, 'scripts', 'pytest.mjs'), '--color=no']],
  ['e2e', bin('playwright'), ['test']],
];

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    let output = '';
    const forward = (to) => (chunk) => {
      output += chunk;
      to.write(chunk);
    };
    child.stdout.on('data', forward(process.stdout));
    child.stderr.on('data', forward(process.stderr));
    child.on('close', (code) => resolve({ code, output }));
  });
}

const results = [];
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const [name, cmd, args] of steps) {
  if (only && !only.includes(name)) continue;
  process.stdout.write(`\n=== ${name} ===\n`);
  const started = Date.now();
  const { code, output } = await run(cmd, args);
  const counts = countTests(name, output);
  if (counts) for (const k of Object.keys(totals)) totals[k] += counts[k];
  results.push({ name, ok: code === 0, seconds: ((Date.now() - started) / 1000).toFixed(1), counts });
}
process.stdout.write('\n=== summary ===\n');
for (const r of results) {
  const c = r.counts
    ? `  ${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped`
    : '';
  process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(10)} ${r.seconds}s${c}\n`);
}
const failedSteps = results.filter((r) => !r.ok).length;
// A failed step without its own failed tests (typecheck, lint, a crash) still counts as a failure here.
const failed = totals.failed + results.filter((r) => !r.ok && !(r.counts?.failed > 0)).length;
process.stdout.write(`tests: ${totals.passed} passed, ${failed} failed, ${totals.skipped} skipped\n`);
process.exit(failedSteps === 0 ? 0 : 1);
