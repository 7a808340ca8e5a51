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

const berth = await startServe();
const auth = { authorization: `Bearer ${berth.token}` };
const body = await (await fetch(`${berth.url}/api/servers`, { headers: auth })).text();
const servers = await load(`${berth.url}/api/servers`, auth);
const app = await load(`${berth.url}/api/app`, auth);
await berth.stop();

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
  ratio_to_baseline: +(servers.requests_per_s / baseline.requests_per_s).toFixed(2),
  goals: { requests_per_s: '>= 2000', p99_ms: '< 10' },
  meets_goals: servers.requests_per_s >= 2000 && servers.p99_ms < 10 && servers.errors === 0,
  machine: `${process.platform}-${process.arch}, node ${process.version}`,
  when: new Date().toISOString(),
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'api.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
