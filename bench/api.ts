// Status endpoints under load: requests/s and p99 latency with autocannon against a real `berth serve`
// (another process), beside a baseline of a bare node:http server answering the same JSON body on the same
// machine, so the ratio shows Berth's own cost (guards, routing, serialization).

import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { root, startServe } from './_berth.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);

async function load(url: string, headers: Record<string, string>) {
  const r = await autocannon({ url, connections: 16, duration: DURATION, headers });
  return {
    requests_per_s: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

const berth = await startServe({ PYTHONPATH: join(root, 'test-standins', 'vllm') });
const auth = { authorization: `Bearer ${berth.token}` };
// One server (the vLLM stand-in: it logs a line per HTTP request it answers) so /api/servers has a body
// and its log has followers.
const deployed = (await (
  await fetch(`${berth.url}/api/training/deploy`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      model_path: join(root, 'electron', 'core', 'checkpoints', '__fixtures__', 'trainer-run'),
      server_type: 'vllm',
      name: 'bench',
    }),
  })
).json()) as { server_id: string; base_url: string };
const body = await (await fetch(`${berth.url}/api/servers`, { headers: auth })).text();
const servers = await load(`${berth.url}/api/servers`, auth);
const app = await load(`${berth.url}/api/app`, auth);
const followers = await followLogs(deployed.server_id, deployed.base_url, 50, 2000);
await berth.stop();

/** `n` SSE followers of one server's log; the server then logs `lines` lines; counts what each follower got. */
async function followLogs(id: string, serverUrl: string, n: number, lines: number) {
  const marker = `bench-${Date.now()}`;
  const controllers: AbortController[] = [];
  const counts = new Array<number>(n).fill(0);
  const ready = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const controller = new AbortController();
      controllers.push(controller);
      const res = await fetch(`${berth.url}/api/servers/${id}/logs?follow=1&tail=1`, {
        headers: auth,
        signal: controller.signal,
      });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            counts[i]! += value.split(marker).length - 1;
          }
        } catch {
          // aborted at the end
        }
      })();
      return res.status;
    }),
  );
  const started = Date.now();
  for (let k = 0; k < lines; k++) await fetch(`${serverUrl}/v1/models?${marker}=${k}`).then((r) => r.text());
  const deadline = Date.now() + 20_000;
  while (counts.some((c) => c < lines) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const ms = Date.now() - started;
  for (const c of controllers) c.abort();
  return {
    followers: n,
    lines_logged: lines,
    followers_connected: ready.filter((s) => s === 200).length,
    followers_with_every_line: counts.filter((c) => c === lines).length,
    min_lines_received: Math.min(...counts),
    seconds: ms / 1000,
  };
}

const bare = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const port = (bare.address() as { port: number }).port;
const baseline = await load(`http://127.0.0.1:${port}/`, {});
bare.close();

const result = {
  what: 'GET /api/servers and /api/app on berth serve vs a bare node:http server with the same body',
  duration_s: DURATION,
  connections: 16,
  api_servers: servers,
  api_app: app,
  baseline_bare_http: baseline,
  log_followers: followers,
  ratio_to_baseline: +(servers.requests_per_s / baseline.requests_per_s).toFixed(2),
  goals: { requests_per_s: '>= 2000', p99_ms: '< 10' },
  meets_goals:
    servers.requests_per_s >= 2000 &&
    servers.p99_ms < 10 &&
    servers.errors === 0 &&
    followers.followers_with_every_line === followers.followers,
  machine: `${process.platform}-${process.arch}, node ${process.version}`,
  when: new Date().toISOString(),
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'api.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
