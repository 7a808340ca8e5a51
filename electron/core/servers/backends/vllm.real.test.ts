import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DeployConfigSchema } from '../../../../shared/deploy.js';
import type { AdapterFacts } from '../../checkpoints/adapter-base.js';
import { findRealVllm, type RealVllm } from '../test-support/real-vllm.js';
import { preparedModel, VLLM_STANDIN } from '../test-support/standin.js';
import { VLLM_LORA_RANKS, vllmLaunchPlan } from './vllm.js';

// Berth's vLLM command line against the INSTALLED vLLM's own `--help` (the same entry point Berth starts), so
// an upgrade that renames or drops a flag fails here, not in a user's deploy. And the stand-in against the real
// one: it accepts no flag the real vLLM lacks. Skipped (saying why) where no real vLLM is found.
const found = findRealVllm(process.env, { optIn: true });
const skip = 'skip' in found ? found.skip : undefined;
const vllm = found as RealVllm;
const ENTRY = ['-m', 'vllm.entrypoints.openai.api_server'];
/** The flags the issue names; every one of them is one Berth passes (see the launch plans below). */
const NAMED = [
  '--max-model-len',
  '--served-model-name',
  '--gpu-memory-utilization',
  '--enable-lora',
  '--lora-modules',
  '--max-lora-rank',
  '--tensor-parallel-size',
  '--api-key',
  '--dtype',
];

function help(python: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(python, [...ENTRY, '--help'], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...env, VLLM_NO_USAGE_STATS: '1', COLUMNS: '200' },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** Every option argparse lists in the usage block, with its choices where it has them. */
function options(text: string): Map<string, string[] | undefined> {
  const usage = text.slice(0, text.search(/\n\n/));
  const out = new Map<string, string[] | undefined>();
  for (const m of usage.matchAll(/\[(--[a-z0-9][a-z0-9-]*)(?:\s+\{([^}]*)\})?/g))
    out.set(m[1] as string, m[2]?.split(','));
  return out;
}

/** Every `--flag` in Berth's launch plans: a full HF deploy and a LoRA deploy. */
function berthFlags(): string[] {
  const target = { host: '127.0.0.1', port: 8000 };
  const full = vllmLaunchPlan(
    {
      ...preparedModel('m', {
        gpu_memory_utilization: 0.5,
        max_model_len: 4096,
        tensor_parallel_size: 2,
        dtype: 'bfloat16',
        api_key: 'k',
      }),
      tokenizer_path: '/models/tok',
    },
    target,
    'python3',
    {},
  );
  const lora = vllmLaunchPlan(
    {
      ...preparedModel('a', {}),
      base_model_path: '/models/base',
      adapter_path: '/runs/adapter',
      adapter: { rank: 8 } as AdapterFacts,
    },
    target,
    'python3',
    {},
  );
  return [...new Set([...full.args, ...lora.args].filter((a) => a.startsWith('--')))];
}

describe.skipIf(skip !== undefined)(`Berth's vLLM flags against vLLM ${vllm.version ?? ''}`, () => {
  const env = { ...process.env };
  delete env.PYTHONPATH;
  let real: Map<string, string[] | undefined>;

  it('the installed vLLM lists every flag Berth passes (and every one the issue names)', () => {
    real = options(help(vllm.python, env));
    expect(real.size).toBeGreaterThan(50); // the real usage block, not an error
    const flags = berthFlags();
    expect(flags).toEqual(expect.arrayContaining(NAMED));
    expect(flags.filter((f) => !real.has(f))).toEqual([]);
  }, 240_000);

  it("Berth's dtype values are among vLLM's --dtype choices", () => {
    const dtypes = DeployConfigSchema.shape.dtype.unwrap().options;
    expect(dtypes.filter((d) => !real.get('--dtype')?.includes(d))).toEqual([]);
  });

  it("the LoRA ranks Berth picks from are vLLM's own --max-lora-rank values", () => {
    const r = spawnSync(
      vllm.python,
      [
        '-c',
        'import typing, vllm.config.lora as l; print(" ".join(map(str, typing.get_args(l.MaxLoRARanks))))',
      ],
      { encoding: 'utf8', timeout: 180_000, env },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split(' ').map(Number)).toEqual([...VLLM_LORA_RANKS]);
  }, 240_000);

  it('the stand-in accepts no flag the real vLLM lacks, and no --dtype choice it refuses', () => {
    const standin = options(help('python3', { ...env, PYTHONPATH: VLLM_STANDIN }));
    expect(standin.size).toBeGreaterThan(5);
    expect([...standin.keys()].filter((f) => f !== '--help' && !real.has(f))).toEqual([]);
    const choices = standin.get('--dtype') ?? [];
    expect(choices.filter((c) => !real.get('--dtype')?.includes(c))).toEqual([]);
    // and it knows every flag Berth passes, so the fast tests exercise the real command line
    expect(berthFlags().filter((f) => !standin.has(f))).toEqual([]);
  }, 60_000);
});

describe.skipIf(skip === undefined)('real vLLM flags', () => {
  it.skip(`skipped: ${skip}`, () => {});
});
