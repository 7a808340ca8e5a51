import { resolve } from 'node:path';
import type { DeployRequest, DeployResponse } from '../../../../shared/deploy.js';
import type { BerthEvent } from '../../../../shared/events.js';
import { BerthError } from '../../errors.js';
import { connect } from '../client.js';
import type { Command } from '../command.js';
import { describeEvent, progressLine } from '../progress.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `berth deploy`: deploy a checkpoint through the running Berth, with live progress. */
export const deployCommand: Command = {
  name: 'deploy',
  summary: 'Deploy a checkpoint (a path or a registered job id) to vLLM, Ollama or the built-in engine',
  usage:
    'berth deploy <path|job-id> --server vllm|ollama|llamacpp|auto [--checkpoint checkpoint-N] [--name NAME] [--quantization Q4_K_M] [--context N] [--port N] [--gpu-memory-utilization 0.9] [--base <path>] [--adapter-mode adapter|merged] [--measure-quality | --no-measure-quality] [--json]',
  options: {
    server: { type: 'string', default: 'auto' },
    checkpoint: { type: 'string' },
    name: { type: 'string' },
    quantization: { type: 'string' },
    context: { type: 'string' },
    port: { type: 'string' },
    'gpu-memory-utilization': { type: 'string' },
    'max-model-len': { type: 'string' },
    'tensor-parallel-size': { type: 'string' },
    /** A LoRA adapter's base model folder, when base_model_name_or_path does not lead to it here. */
    base: { type: 'string' },
    'adapter-mode': { type: 'string' },
    /** Measure the quantized GGUF against its F16 before the server starts (default: on for small models). */
    'measure-quality': { type: 'boolean' },
    'no-measure-quality': { type: 'boolean' },
  },
  async run(args, io, env) {
    const target = args.positionals[0];
    if (!target) throw new BerthError('INVALID_REQUEST', 'Which checkpoint?', `usage: ${this.usage}`);
    const v = args.values;
    const num = (key: string) => (v[key] === undefined ? undefined : Number(v[key]));
    const config = Object.fromEntries(
      Object.entries({
        quantization: v.quantization,
        context_length: num('context'),
        port: num('port'),
        gpu_memory_utilization: num('gpu-memory-utilization'),
        max_model_len: num('max-model-len'),
        tensor_parallel_size: num('tensor-parallel-size'),
        adapter_mode: v['adapter-mode'],
      }).filter(([, value]) => value !== undefined),
    );
    if (v['measure-quality'] && v['no-measure-quality'])
      throw new BerthError('INVALID_REQUEST', 'Give --measure-quality or --no-measure-quality, not both');
    const measure = v['measure-quality'] ? true : v['no-measure-quality'] ? false : undefined;
    const request = {
      ...(UUID.test(target) ? { job_id: target } : { model_path: resolve(target) }),
      server_type: v.server,
      ...(v.checkpoint ? { checkpoint_path: v.checkpoint } : {}),
      ...(v.name ? { name: v.name } : {}),
      ...(v.base ? { base_model_path: resolve(String(v.base)) } : {}),
      ...(measure !== undefined ? { measure_quality: measure } : {}),
      config,
    } as DeployRequest;

    const client = connect(env);
    const accepted = await client.request<{ deployment_id: string }>(
      'POST',
      '/api/training/deploy?wait=false',
      request,
    );
    const json = Boolean(v.json);
    let cancelled = false;
    const onSigint = () => {
      cancelled = true;
      io.err('\nCancelling the deployment...\n');
      void client.request('DELETE', `/api/deployments/${accepted.deployment_id}`).catch(() => undefined);
    };
    process.once('SIGINT', onSigint);
    let bar = false;
    try {
      for await (const raw of client.stream(`/api/deployments/${accepted.deployment_id}/events`)) {
        const event = raw as BerthEvent;
        if (json) {
          io.out(`${JSON.stringify(event)}\n`);
          continue;
        }
        if (event.type === 'deployment.progress') {
          if (io.isTty) {
            io.err(`\r${progressLine(event.progress)}`);
            bar = true;
          }
          continue;
        }
        const line = describeEvent(event);
        if (line) {
          if (bar) io.err('\n');
          bar = false;
          (event.type === 'deployment.status' && event.result ? io.out : io.err)(`${line}\n`);
        }
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    const result = await client
      .request<DeployResponse>('GET', `/api/deployments/${accepted.deployment_id}/result`)
      .catch((error: unknown) => error as BerthError);
    if (result instanceof BerthError) {
      if (json) io.out(`${JSON.stringify({ success: false, error: result.toJSON() })}\n`);
      return cancelled ? 130 : 1;
    }
    if (json) io.out(`${JSON.stringify(result)}\n`);
    return 0;
  },
};
