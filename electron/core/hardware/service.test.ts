import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointSchema } from '../../../shared/checkpoints.js';
import type { BerthEvent } from '../../../shared/events.js';
import { SettingsSchema } from '../../../shared/settings.js';
import { RecommendationSchema, type SystemReport, SystemReportSchema } from '../../../shared/system.js';
import { EventBus } from '../events.js';
import { makeTestApi } from '../test-support/core.js';
import { appRoot } from '../version.js';
import { SystemService } from './service.js';
import { MACHINES, machine } from './test-machines.js';

const MIB = 1024 * 1024;

function service(
  report: SystemReport,
  queryVram?: () => Promise<SystemReport['gpus'] | undefined>,
  bus = new EventBus(),
) {
  const events: BerthEvent[] = [];
  bus.subscribe((e) => events.push(e));
  let detections = 0;
  const s = new SystemService({
    bus,
    env: {},
    home: '/tmp',
    appRoot: '/tmp',
    pythonEnvDir: '/tmp',
    settings: () => SettingsSchema.parse({}),
    detect: async () => {
      detections++;
      await new Promise((r) => setTimeout(r, 20));
      return structuredClone(report);
    },
    ...(queryVram ? { queryVram } : {}),
  });
  return { s, events, detections: () => detections };
}

describe('core.system', () => {
  it('caches the report and shares one detection between concurrent callers', async () => {
    const { s, detections } = service(machine(MACHINES.T4!));
    const [a, b] = await Promise.all([s.report(), s.report()]);
    expect(a).toBe(b);
    expect(await s.report()).toBe(a);
    expect(detections()).toBe(1);
    await s.report({ refresh: true });
    expect(detections()).toBe(2);
  });

  it('live refresh: updates free VRAM and emits system.changed only when it moved', async () => {
    const t4 = MACHINES.T4!;
    let free = t4[0]!.memory_free_bytes!;
    const { s, events } = service(machine(t4), async () => [{ ...t4[0]!, memory_free_bytes: free }]);
    await s.report();
    expect(await s.refreshVram()).toBe(false);
    free -= 4096 * MIB; // a server loaded 4 GiB
    expect(await s.refreshVram()).toBe(true);
    expect(s.peek()?.gpus[0]?.memory_free_bytes).toBe(free);
    expect(events.filter((e) => e.type === 'system.changed')).toHaveLength(1);

    s.startLiveRefresh(10);
    expect(s.live).toBe(true);
    free -= 1024 * MIB;
    await new Promise((r) => setTimeout(r, 100));
    expect(events.filter((e) => e.type === 'system.changed')).toHaveLength(2);
    await s.close();
    expect(s.live).toBe(false);
  });

  it('follows server.status events: live refresh while a server runs, off when none does', async () => {
    const bus = new EventBus();
    const { s } = service(machine(MACHINES.T4!), undefined, bus);
    const server = (status: string) =>
      ({
        id: '6f1d7a52-8a8e-4a4f-9d4e-3a1c0b7e2f11',
        name: 'm',
        server_type: 'vllm',
        status,
        host: '127.0.0.1',
        port: 8000,
        base_url: '',
        openai_base_url: '',
        model_name: 'm',
        model_id: '6f1d7a52-8a8e-4a4f-9d4e-3a1c0b7e2f12',
        model_path: '/m',
        restarts: 0,
        auto_restart: false,
      }) as never;
    expect(s.live).toBe(false);
    bus.emit({ type: 'server.status', server: server('running') });
    expect(s.live).toBe(true);
    bus.emit({ type: 'server.status', server: server('stopped') });
    expect(s.live).toBe(false);
    await s.close();
  });

  it('a checkpoint without a shape cannot be recommended for, with a hint', async () => {
    const { s } = service(machine([]));
    await expect(
      s.recommend(CheckpointSchema.parse({ relative_path: '.', path: '/x', kind: 'lora-adapter' })),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL', hint: expect.stringContaining('base model') });
  });
});

describe('GET /api/system and POST /api/recommend', () => {
  let t: Awaited<ReturnType<typeof makeTestApi>> | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('reports this machine (real detection) and recommends for a real model folder', async () => {
    t = await makeTestApi();
    const first = await t.call('GET', '/api/system');
    expect(first.status).toBe(200);
    const report = SystemReportSchema.parse(first.body);
    expect(report.cpu.cores).toBeGreaterThan(0);
    expect(report.backends.map((b) => b.name).sort()).toEqual(['converter', 'llamacpp', 'ollama', 'vllm']);
    expect(report.disk?.path).toBe(t.home);
    const again = await t.call('GET', '/api/system');
    expect(again.body.detected_at).toBe(report.detected_at);
    const fresh = await t.call('GET', '/api/system?refresh=1');
    expect(fresh.body.detected_at).not.toBe(report.detected_at);

    const rec = await t.call('POST', '/api/recommend', {
      model_path: join(appRoot(), 'electron/core/checkpoints/__fixtures__/tiny-llama-bf16'),
      context_length: 128,
    });
    expect(rec.status).toBe(200);
    const r = RecommendationSchema.parse(rec.body);
    expect(r.context_length).toBe(128);
    expect(r.options.filter((o) => o.recommended)).toHaveLength(1);
    expect(r.options.find((o) => o.backend === 'vllm')?.installed).toBe(
      report.backends.find((b) => b.name === 'vllm')?.installed,
    );
  });

  it('bad requests get a 400 with a code', async () => {
    t = await makeTestApi();
    const both = await t.call('POST', '/api/recommend', { model_path: '/a', job_id: crypto.randomUUID() });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('INVALID_REQUEST');
    const bad = await t.call('GET', '/api/system?refresh=maybe');
    expect(bad.status).toBe(400);
    const missing = await t.call('POST', '/api/recommend', { model_path: '/nonexistent/model' });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(missing.body.error.code).toBeTruthy();
  });
});
