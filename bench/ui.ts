// UI speed in headless Chromium: (1) the real LogView under 5,000 lines/s for 20 s (100,000 lines): lines
// shown vs sent, and input latency while it streams; (2) from navigation to an interactive Berth window,
// beside the same measurement for a static page served by the same server (the floor).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { chromium } from 'playwright';
import { root, startServe } from './_berth.js';

const RATE = Number(process.env.BENCH_LOG_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_LOG_SECONDS ?? 20);
const browser = await chromium.launch({
  executablePath: process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

// (1) LogView firehose
const out = mkdtempSync(join(tmpdir(), 'berth-logview-'));
const built = spawnSync(
  join(root, 'node_modules', '.bin', 'vite'),
  ['build', '--logLevel', 'warn', '--outDir', out, '--emptyOutDir'],
  {
    cwd: join(root, 'bench', 'logview'),
    stdio: 'inherit',
  },
);
if (built.status !== 0) process.exit(1);
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
const files = createServer(async (req, res) => {
  const path = join(out, req.url === '/' ? 'index.html' : (req.url ?? '').split('?')[0]!);
  try {
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
const harnessUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}/`;
const page = await browser.newPage();
await page.goto(harnessUrl);
await page.waitForFunction(() => typeof window.bench?.start === 'function');
await page.evaluate(([rate, seconds]) => window.bench.start(rate!, seconds!), [RATE, SECONDS]);
const search = page.getByLabel('Search Benchmark log');
const started = Date.now();
while (!(await page.evaluate(() => window.bench.done))) {
  // A person typing into the search box while the log streams (then clearing it again).
  await search.press('x');
  await page.waitForTimeout(250);
  await search.press('Backspace');
  await page.waitForTimeout(250);
  if (Date.now() - started > (SECONDS + 60) * 1000) break;
}
await page.waitForTimeout(500);
const shownText = (await page.locator('.logview-bar .muted').textContent()) ?? '';
const shown = Number(shownText.replace(/[^0-9]/g, ''));
const { sent, latencies } = await page.evaluate(() => ({
  sent: window.bench.sent,
  latencies: window.bench.latencies,
}));
const domRows = await page.locator('.logline').count();
latencies.sort((a: number, b: number) => a - b);
const pct = (p: number) =>
  +(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN).toFixed(1);
files.close();
rmSync(out, { recursive: true, force: true });

// (2) page load to interactive, Berth vs a static page from the same server
const berth = await startServe();
async function timeToInteractive(url: string, ready: (p: typeof page) => Promise<unknown>): Promise<number> {
  const context = await browser.newContext();
  const p = await context.newPage();
  const t0 = Date.now();
  await p.goto(url);
  await ready(p);
  const ms = Date.now() - t0;
  await context.close();
  return ms;
}
const berthLoads: number[] = [];
const floorLoads: number[] = [];
for (let i = 0; i < 7; i++) {
  berthLoads.push(
    await timeToInteractive(berth.uiUrl, async (p) => {
      await p.getByRole('link', { name: 'Servers' }).click({ trial: true });
      await p.getByText('Drop a training output folder here').waitFor();
    }),
  );
  // The floor: the same server answering a tiny JSON document (a new browser context, one round trip).
  floorLoads.push(await timeToInteractive(`${berth.url}/api/app`, async (p) => p.locator('body').waitFor()));
}
await berth.stop();
await browser.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const result = {
  logview: {
    rate_lines_per_s: RATE,
    seconds: SECONDS,
    sent,
    shown,
    dropped: sent - shown,
    dom_rows_at_end: domRows,
    input_latency_ms: { samples: latencies.length, p50: pct(0.5), p95: pct(0.95), max: pct(1) },
    goals: { dropped: 0, input_latency_ms: '< 100' },
  },
  page_load: {
    berth_to_interactive_ms_median: median(berthLoads),
    berth_runs_ms: berthLoads,
    floor_static_page_ms_median: median(floorLoads),
    goal_ms: '< 1000',
  },
  machine: `${process.platform}-${process.arch}, node ${process.version}`,
  when: new Date().toISOString(),
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'ui.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
