// Measuring quality at deploy time (issue 13), through the real HTTP API: the real converter (Python child)
// makes the quantized GGUF and its F16, the real evaluator child (node-llama-cpp) measures one against the
// other, the built-in engine serves. Two windows of 64 tokens keep each measurement short; the figures' meaning
// is tested elsewhere (python/tests/test_quality.py), here only where they go and what a failure does.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BerthEvent } from '../../../shared/events.js';
import { QualityReportSchema } from '../../../shared/quality.js';
import { descendants, isAlive } from '../servers/process-tree.js';
import { survivors, waitFor } from '../servers/test-support/standin.js';
import { makeTestApi } from '../test-support/core.js';
import { TRAINER_RUN, VENV_PYTHON, VLLM_STANDIN_DIR } from './test-support.js';

const haveVenv = existsSync(VENV_PYTHON);
type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api;

/** Live evaluator children (electron/core/quality/child.ts) below this test process. */
function evaluators(): number[] {
  return descendants(process.pid).filter((pid) => {
    try {
      return isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('quality/child.');
    } catch {
      return false;
    }
  });
}

/** A deployment's events, collected from its SSE history after it finished. */
async function eventsOf(id: string): Promise<BerthEvent[]> {
  const res = await fetch(`${t.api.url}/api/deployments/${id}/events`, {
    headers: { authorization: `Bearer ${t.api.token}` },
  });
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as BerthEvent);
}

const engine = (over: Record<string, unknown>) => ({
  model_path: TRAINER_RUN,
  server_type: 'llamacpp',
  config: { quantization: 'Q8_0', context_length: 256 },
  ...over,
});

describe.skipIf(!haveVenv)('deploy with measure_quality (real converter, evaluator and engine)', () => {
  beforeAll(async () => {
    t = await makeTestApi({
      env: {
        ...process.env,
        BERTH_QUALITY_ON_DEPLOY: '',
        BERTH_QUALITY_WINDOWS: '2',
        BERTH_QUALITY_CONTEXT: '64',
        BERTH_QUALITY_GPU: 'cpu',
        PYTHONPATH: VLLM_STANDIN_DIR,
      },
    });
    t.core.settings.update({ python: { converter: VENV_PYTHON } });
  });
  afterAll(async () => {
    await t?.dispose();
    expect(survivors()).toEqual([]);
  });

  it('measures the served GGUF against its F16 as its own stage, keeps the report in the cache entry, and a re-deploy reuses it', async () => {
    const res = await t.call('POST', '/api/training/deploy', engine({ name: 'q-a', measure_quality: true }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'running', quantization: 'Q8_0' });
    expect(res.body.quality).toMatchObject({ state: 'measured', reason: 'requested' });
    const report = QualityReportSchema.parse(res.body.quality.report);
    expect(report).toMatchObject({
      model_path: res.body.gguf_path,
      model_type: 'Q8_0',
      reference_type: 'F16',
      context: 64,
      windows: 2,
      max_windows: 2,
    });
    // in the GGUF cache entry of exactly the served file
    const entry = t.core.conversion.cache.list().find((e) => e.gguf_path === res.body.gguf_path);
    expect(entry?.quality?.map((r) => r.created_at)).toEqual([report.created_at]);
    const f16 = t.core.conversion.cache.list().find((e) => e.quantization === 'F16');
    expect(report.reference_path).toBe(f16?.gguf_path);
    // the stage, in order, in the deployment's events and info
    const events = await eventsOf(res.body.deployment_id);
    const stages = events.flatMap((e) => (e.type === 'deployment.stage' ? [`${e.stage}:${e.state}`] : []));
    expect(stages.indexOf('quality:started')).toBeGreaterThan(stages.indexOf('quantize:done'));
    expect(stages.indexOf('quality:done')).toBeLessThan(stages.indexOf('start:started'));
    expect(events.some((e) => e.type === 'deployment.progress' && e.progress.stage === 'quality')).toBe(true);
    const info = (await t.call('GET', `/api/deployments/${res.body.deployment_id}`)).body;
    expect(info.stages.quality).toBe('done');
    expect(info.stage_notes.quality.detail).toMatch(/^Q8_0: top-1 agreement \d+ %, KL /);

    // Measured once per file: the same cached GGUF deployed again (default on for this tiny model) reuses it.
    await t.call('DELETE', `/api/servers/${res.body.server_id}`);
    const again = await t.call('POST', '/api/training/deploy', engine({ name: 'q-b' }));
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.gguf_path).toBe(res.body.gguf_path);
    expect(again.body.quality).toMatchObject({
      state: 'cached',
      reason: /^on by default: small model: about \d+ s$/,
    });
    expect(again.body.quality.report.created_at).toBe(report.created_at);
    await t.call('DELETE', `/api/servers/${again.body.server_id}`);
  }, 240_000);

  it('an evaluator killed mid-measurement fails the stage with its code, and the server still comes up', async () => {
    const accepted = await t.call(
      'POST',
      '/api/training/deploy?wait=false',
      engine({ name: 'q-killed', checkpoint_path: 'checkpoint-12', measure_quality: true }),
    );
    expect(accepted.status).toBe(202);
    const id = accepted.body.deployment_id;
    let killed: number | undefined;
    await waitFor(
      () => {
        killed = evaluators()[0];
        return killed !== undefined;
      },
      180_000,
      'the evaluator child',
    );
    process.kill(killed as number, 'SIGKILL');
    const result = await t.call('GET', `/api/deployments/${id}/result`);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body.status).toBe('running');
    expect(result.body.quality).toMatchObject({ state: 'failed', error: { code: 'QUALITY_FAILED' } });
    expect(result.body.quality.error.hint).toBeTruthy();
    const info = (await t.call('GET', `/api/deployments/${id}`)).body;
    expect(info.status).toBe('succeeded');
    expect(info.stages).toMatchObject({ quality: 'failed', start: 'done', healthy: 'done' });
    expect(info.stage_notes.quality.error.code).toBe('QUALITY_FAILED');
    // nothing was kept for the file
    const entry = t.core.conversion.cache.list().find((e) => e.gguf_path === result.body.gguf_path);
    expect(entry?.quality ?? []).toEqual([]);
    await t.call('DELETE', `/api/servers/${result.body.server_id}`);
  }, 240_000);

  it('cancelling the deploy mid-measurement stops the evaluator child and starts no server', async () => {
    const accepted = await t.call(
      'POST',
      '/api/training/deploy?wait=false',
      engine({
        name: 'q-cancel',
        checkpoint_path: 'checkpoint-12',
        measure_quality: true,
        config: { quantization: 'Q4_K_M', context_length: 256 },
      }),
    );
    const id = accepted.body.deployment_id;
    await waitFor(() => evaluators().length > 0, 180_000, 'the evaluator child');
    const seen = evaluators();
    const cancelled = await t.call('DELETE', `/api/deployments/${id}`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(cancelled.body.stages.quality).toBe('failed');
    await waitFor(() => seen.every((pid) => !isAlive(pid)), 15_000, 'the evaluator to exit');
    expect(evaluators()).toEqual([]);
    const servers = (await t.call('GET', '/api/servers')).body as Array<{ name: string }>;
    expect(servers.map((s) => s.name)).not.toContain('q-cancel');
  }, 240_000);

  it('skipping the measurement stops the evaluator and the server starts without a report', async () => {
    const accepted = await t.call(
      'POST',
      '/api/training/deploy?wait=false',
      engine({
        name: 'q-skip',
        checkpoint_path: 'checkpoint-12',
        measure_quality: true,
        config: { quantization: 'Q5_K_M', context_length: 256 },
      }),
    );
    const id = accepted.body.deployment_id;
    // Not measuring yet (or any more): nothing to skip.
    const early = await t.call('DELETE', `/api/deployments/${id}/quality`);
    expect(early.status).toBe(400);
    await waitFor(() => evaluators().length > 0, 180_000, 'the evaluator child');
    const seen = evaluators();
    const skip = await t.call('DELETE', `/api/deployments/${id}/quality`);
    expect(skip.status, JSON.stringify(skip.body)).toBe(200);
    const result = await t.call('GET', `/api/deployments/${id}/result`);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body.status).toBe('running');
    expect(result.body.quality).toMatchObject({ state: 'skipped', error: { code: 'CANCELLED' } });
    const info = (await t.call('GET', `/api/deployments/${id}`)).body;
    expect(info.stages).toMatchObject({ quality: 'skipped', start: 'done', healthy: 'done' });
    await waitFor(() => seen.every((pid) => !isAlive(pid)), 15_000, 'the evaluator to exit');
    await t.call('DELETE', `/api/servers/${result.body.server_id}`);
  }, 240_000);

  it('vLLM: measure_quality does not apply, and the response says why; a non-boolean is refused', async () => {
    const res = await t.call('POST', '/api/training/deploy', {
      model_path: TRAINER_RUN,
      server_type: 'vllm',
      name: 'q-vllm',
      measure_quality: true,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.quality).toEqual({
      state: 'skipped',
      reason: 'vLLM serves the Hugging Face folder: there is no GGUF to measure',
    });
    await t.call('DELETE', `/api/servers/${res.body.server_id}`);
    const bad = await t.call('POST', '/api/training/deploy', {
      model_path: TRAINER_RUN,
      server_type: 'llamacpp',
      measure_quality: 'yes',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
  });
});

describe.skipIf(!haveVenv)('deploy-time measurement with a bad evaluation text (BERTH_QUALITY_TEXT)', () => {
  let u: Api;
  beforeAll(async () => {
    u = await makeTestApi({
      env: {
        ...process.env,
        BERTH_QUALITY_TEXT: '/nonexistent/eval.txt',
        BERTH_QUALITY_WINDOWS: '1',
        BERTH_QUALITY_CONTEXT: '64',
        BERTH_QUALITY_GPU: 'cpu',
      },
    });
    u.core.settings.update({ python: { converter: VENV_PYTHON } });
  });
  afterAll(async () => {
    await u?.dispose();
  });

  it('the stage carries the coded error and the server still comes up', async () => {
    const res = await u.call('POST', '/api/training/deploy', {
      model_path: TRAINER_RUN,
      server_type: 'llamacpp',
      name: 'q-badtext',
      measure_quality: true,
      config: { quantization: 'Q8_0', context_length: 256 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('running');
    expect(res.body.quality).toMatchObject({
      state: 'failed',
      error: { code: 'PATH_NOT_FOUND', message: 'No evaluation text at /nonexistent/eval.txt' },
    });
    const info = (await u.call('GET', `/api/deployments/${res.body.deployment_id}`)).body;
    expect(info.stage_notes.quality.error.code).toBe('PATH_NOT_FOUND');
    await u.call('DELETE', `/api/servers/${res.body.server_id}`);
  }, 240_000);
});
