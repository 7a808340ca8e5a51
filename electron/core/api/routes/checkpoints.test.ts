import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, tempDir, writeTinyModel } from '../../checkpoints/test-fixtures.js';
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
    await t.call('PATCH', '/api/settings', { roots: [] });
  });

  it('fs/browse says nothing about what exists outside the roots; ~ is home; relative paths are a 400', async () => {
    const q = (p: string) => t.call('GET', `/api/fs/browse?path=${encodeURIComponent(p)}`);
    const existing = await q('/usr/share');
    const missing = await q('/usr/no-such-folder-berth');
    expect(existing.status).toBe(403);
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe(existing.body.error.code);
    expect(missing.body.error.hint).toBe(existing.body.error.hint);
    expect((await q('~')).body.path).toBe(tmp.dir);
    mkdirSync(join(tmp.dir, 'runs'), { recursive: true });
    expect((await q('~/runs')).body.path).toBe(join(tmp.dir, 'runs'));
    const relative = await q('runs');
    expect(relative.status).toBe(400);
    expect(relative.body.error.message).not.toContain(process.cwd());
    expect((await q('../etc')).status).toBe(400);
    // Inside a root, a missing folder is simply not found.
    expect((await q(join(tmp.dir, 'nope'))).body.error.code).toBe('PATH_NOT_FOUND');
  });
});

describe('hostile folders', () => {
  it('folders whose files are FIFOs answer at once, four at a time, and the API stays responsive', async () => {
    const folders = ['config.json', 'model.safetensors', 'tokenizer.json', 'config.json'].map((name, i) => {
      const dir = join(tmp.dir, `fifo-${i}`);
      writeTinyModel(dir);
      writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "BPE"}}');
      rmSync(join(dir, name));
      execFileSync('mkfifo', [join(dir, name)]);
      return dir;
    });
    const answers = await Promise.all(folders.map((path) => t.call('POST', '/api/training/jobs', { path })));
    for (const a of answers) {
      const errors = [
        a.body.error,
        ...(a.body.checkpoints ?? []).flatMap((c: { errors: unknown[] }) => c.errors),
      ];
      expect(errors).toContainEqual(expect.objectContaining({ code: 'NOT_A_FILE' }));
    }
    const started = Date.now();
    expect((await t.call('GET', '/api/app')).status).toBe(200);
    expect((await t.call('GET', `/api/fs/browse?path=${encodeURIComponent(tmp.dir)}`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000); // generous: a hung thread pool never answers at all
  }, 30_000);
});
