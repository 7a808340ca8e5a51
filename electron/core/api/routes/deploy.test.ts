import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApi } from '../../test-support/core.js';

type TestApi = Awaited<ReturnType<typeof makeTestApi>>;
let t: TestApi;
beforeEach(async () => {
  t = await makeTestApi();
});
afterEach(async () => {
  await t.dispose();
});

describe('POST /api/training/deploy validation', () => {
  it.each([
    ['no body', {}, 'server_type'],
    ['unknown server type', { model_path: '/m', server_type: 'tgi' }, 'server_type'],
    ['neither job_id nor model_path', { server_type: 'vllm' }, 'job_id'],
    [
      'both job_id and model_path',
      { job_id: '6b0e3b8e-9a47-4a8e-9d8e-0f6f1c1b2a3c', model_path: '/m', server_type: 'vllm' },
      'job_id',
    ],
    ['job_id not a uuid', { job_id: 'abc', server_type: 'vllm' }, 'job_id'],
    ['bad name', { model_path: '/m', server_type: 'vllm', name: '../etc' }, 'name'],
    [
      'utilization above 1',
      { model_path: '/m', server_type: 'vllm', config: { gpu_memory_utilization: 1.5 } },
      'gpu_memory_utilization',
    ],
    [
      'unknown quantization',
      { model_path: '/m', server_type: 'ollama', config: { quantization: 'Q3_K_S' } },
      'quantization',
    ],
    ['privileged port', { model_path: '/m', server_type: 'ollama', config: { port: 80 } }, 'port'],
    ['unknown config key', { model_path: '/m', server_type: 'vllm', config: { tp: 2 } }, 'config'],
    ['unknown top-level key', { model_path: '/m', server_type: 'vllm', extra: 1 }, 'body'],
  ])('400 for %s, naming the field', async (_label, body, field) => {
    const res = await t.call('POST', '/api/training/deploy', body);
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(res.body.error.message).toContain(field);
  });

  it('404 for an unknown deployment id', async () => {
    const res = await t.call('GET', '/api/deployments/6b0e3b8e-9a47-4a8e-9d8e-0f6f1c1b2a3c');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('DEPLOYMENT_NOT_FOUND');
  });
});
