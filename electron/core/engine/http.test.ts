import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineOptionsSchema } from './args.js';
import { createEngineServer } from './http.js';

// The HTTP layer before the model is loaded: a real server whose runner is not there yet.
describe('engine HTTP while loading', () => {
  const server = createEngineServer({
    options: EngineOptionsSchema.parse({ model: 'm.gguf', port: 0, name: 'm' }),
    runner: () => undefined,
    log: () => {},
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers 503 on /health and /v1 until the model is ready', async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'loading' });
    const models = await fetch(`${base}/v1/models`);
    expect(models.status).toBe(503);
    expect(((await models.json()) as { error: { code: string } }).error.code).toBe('loading');
  });

  it('answers 404 for unknown paths and 405 for a wrong method', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/health`, { method: 'POST' })).status).toBe(405);
  });
});
