import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BerthEvent } from '../../../shared/events.js';
import { makeTestCore } from '../test-support/core.js';
import { copyFixture, tempDir } from './test-fixtures.js';

let tmp: ReturnType<typeof tempDir>;
let t: Awaited<ReturnType<typeof makeTestCore>>;
let run: string;
beforeEach(async () => {
  tmp = tempDir();
  t = await makeTestCore({ env: { HOME: tmp.dir } });
  run = copyFixture('trainer-run', tmp.dir, 'my run');
});
afterEach(async () => {
  await t.dispose();
  tmp.cleanup();
});

describe('core.jobs', () => {
  it('registers a run with a stable uuid, persisted, and announces it', async () => {
    const events: BerthEvent[] = [];
    t.core.bus.subscribe((e) => events.push(e));
    const job = await t.core.jobs.register(run);
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job).toMatchObject({ name: 'my run', path: run, kind: 'run', best_checkpoint: 'checkpoint-9' });
    expect(events).toContainEqual({ type: 'jobs.changed' });
    const again = await t.core.jobs.register(`${run}/`);
    expect(again.id).toBe(job.id);
    expect(again.registered_at).toBe(job.registered_at);
    const stored = JSON.parse(readFileSync(t.core.paths.stateFile('jobs'), 'utf8'));
    expect(stored.jobs.map((j: { id: string }) => j.id)).toEqual([job.id]);
  });

  it('concurrent registrations of one path give one job', async () => {
    const [a, b] = await Promise.all([t.core.jobs.register(run), t.core.jobs.register(run)]);
    expect(a.id).toBe(b.id);
    expect(t.core.jobs.list()).toHaveLength(1);
  });

  it('survives a restart of the core (same id from the state file)', async () => {
    const job = await t.core.jobs.register(run);
    const { JobRegistry } = await import('./registry.js');
    const reloaded = new JobRegistry({
      file: t.core.paths.stateFile('jobs'),
      bus: t.core.bus,
      clock: t.core.clock,
      env: {},
      roots: () => [],
    });
    expect(reloaded.list().map((j) => j.id)).toEqual([job.id]);
    expect((await reloaded.register(run)).id).toBe(job.id);
  });

  it('get re-inspects (a new checkpoint appears), remove forgets, unknown ids are JOB_NOT_FOUND', async () => {
    const job = await t.core.jobs.register(run);
    copyFixture('trainer-run/checkpoint-3', run, 'checkpoint-15');
    const fresh = await t.core.jobs.get(job.id);
    expect(fresh.checkpoints.map((c) => c.relative_path)).toContain('checkpoint-15');
    t.core.jobs.remove(job.id);
    expect(t.core.jobs.list()).toEqual([]);
    await expect(t.core.jobs.get(job.id)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(() => t.core.jobs.remove(job.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }));
  });

  it('resolve: final model by default, a named checkpoint, escapes and unknowns refused', async () => {
    const job = await t.core.jobs.register(run);
    const final = await t.core.jobs.resolve({ job_id: job.id });
    expect(final).toMatchObject({ relative_path: '.', path: run, is_final: true });
    const c6 = await t.core.jobs.resolve({ job_id: job.id, checkpoint_path: 'checkpoint-6/' });
    expect(c6.path).toBe(join(run, 'checkpoint-6'));
    await expect(t.core.jobs.resolve({ job_id: job.id, checkpoint_path: '../../etc' })).rejects.toMatchObject(
      {
        code: 'PATH_ESCAPES_JOB',
      },
    );
    await expect(t.core.jobs.resolve({ job_id: job.id, checkpoint_path: '/etc' })).rejects.toMatchObject({
      code: 'PATH_ESCAPES_JOB',
    });
    await expect(
      t.core.jobs.resolve({ job_id: job.id, checkpoint_path: 'checkpoint-99' }),
    ).rejects.toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
    });
    await expect(
      t.core.jobs.resolve({ job_id: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
  });

  it('resolve: without a final model, the best checkpoint; a checkpoint linked from outside is refused', async () => {
    const bare = join(tmp.dir, 'bare run');
    mkdirSync(bare);
    for (const n of [3, 6, 9, 12]) copyFixture(`trainer-run/checkpoint-${n}`, bare);
    const outside = copyFixture('tiny-llama-bf16', tmp.dir);
    symlinkSync(outside, join(bare, 'checkpoint-20'));
    const job = await t.core.jobs.register(bare);
    expect((await t.core.jobs.resolve({ job_id: job.id })).relative_path).toBe('checkpoint-9');
    await expect(
      t.core.jobs.resolve({ job_id: job.id, checkpoint_path: 'checkpoint-20' }),
    ).rejects.toMatchObject({
      code: 'PATH_ESCAPES_JOB',
    });
  });

  it('resolve: a plain model_path works without registering', async () => {
    const model = copyFixture('tiny-qwen2-sharded', tmp.dir);
    const c = await t.core.jobs.resolve({ model_path: model });
    expect(c).toMatchObject({ path: model, architecture: 'Qwen2ForCausalLM' });
    await expect(t.core.jobs.resolve({ model_path: join(tmp.dir, 'nope') })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
  });

  it('browse lists home, marks models and runs, refuses folders outside home and roots', async () => {
    const listing = await t.core.jobs.browse();
    expect(listing.path).toBe(tmp.dir);
    expect(listing.entries.find((e) => e.name === 'my run')).toMatchObject({ is_model: true, is_dir: true });
    await expect(t.core.jobs.browse('/etc')).rejects.toMatchObject({ code: 'PATH_OUTSIDE_ROOTS' });
    await expect(t.core.jobs.browse(join(tmp.dir, '..'))).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ROOTS',
    });
    const inside = await t.core.jobs.browse(run);
    expect(inside.parent).toBe(tmp.dir);
    expect(inside.entries.map((e) => e.name)).toContain('checkpoint-3');
  });
});

describe('the IPC facade (window.berth.jobs.*)', () => {
  it('validates arguments and reaches the same registry', async () => {
    const { createApiHandlers } = await import('../facade.js');
    const handlers = createApiHandlers(t.core);
    const call = (
      name: 'jobs.register' | 'jobs.list' | 'jobs.browse' | 'jobs.remove',
      ...args: unknown[]
    ) => {
      const handler = handlers[name];
      if (!handler) throw new Error(`no handler ${name}`);
      return Promise.resolve().then(() => handler(...args));
    };
    const job = (await call('jobs.register', run)) as { id: string };
    expect(((await call('jobs.list')) as Array<{ id: string }>).map((j) => j.id)).toEqual([job.id]);
    expect(((await call('jobs.browse')) as { path: string }).path).toBe(tmp.dir);
    await expect(call('jobs.register', 42)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await call('jobs.remove', job.id);
    expect(t.core.jobs.list()).toEqual([]);
  });
});
