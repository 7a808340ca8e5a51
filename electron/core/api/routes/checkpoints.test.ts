import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, tempDir } from '../../checkpoints/test-fixtures.js';
import { makeTestApi } from '../../test-support/core.js';

let tmp: ReturnType<typeof tempDir>;
let t: Awaited<ReturnType<typeof makeTestApi>>;
beforeAll(async () => {
  tmp = tempDir();
  t = await makeTestApi({ env: { HOME: tmp.dir } });
});
afterAll(async () => {
  await t.dispose();
  tmp.cleanup();
});

describe('checkpoint routes over real HTTP', () => {
  it('POST, GET (list and one), DELETE a job', async () => {
    const run = copyFixture('trainer-run', tmp.dir);
    const created = await t.call('POST', '/api/training/jobs', { path: run });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ path: run, kind: 'run', best_checkpoint: 'checkpoint-9' });
    const list = await t.call('GET', '/api/training/jobs');
    expect(list.body.map((j: { id: string }) => j.id)).toEqual([created.body.id]);
    const one = await t.call('GET', `/api/training/jobs/${created.body.id}`);
    expect(one.body.checkpoints).toHaveLength(5);
    expect((await t.call('DELETE', `/api/training/jobs/${created.body.id}`)).status).toBe(200);
    expect((await t.call('GET', `/api/training/jobs/${created.body.id}`)).body.error.code).toBe(
      'JOB_NOT_FOUND',
    );
  });

  it('bad input comes back as { success: false, error } with the code and status', async () => {
    const missing = await t.call('POST', '/api/training/jobs', { path: join(tmp.dir, 'nope') });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, error: { code: 'PATH_NOT_FOUND' } });
    const empty = await t.call('POST', '/api/training/jobs', {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('INVALID_REQUEST');
  });

  it('GET /api/fs/browse is confined to home and roots', async () => {
    const home = await t.call('GET', '/api/fs/browse');
    expect(home.body.path).toBe(tmp.dir);
    const outside = await t.call('GET', `/api/fs/browse?path=${encodeURIComponent('/etc')}`);
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe('PATH_OUTSIDE_ROOTS');
    await t.call('PATCH', '/api/settings', { roots: ['/etc'] });
    expect((await t.call('GET', '/api/fs/browse?path=/etc')).status).toBe(200);
  });
});
