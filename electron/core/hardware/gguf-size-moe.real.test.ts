import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Quantization } from '../../../shared/deploy.js';
import { modelShape } from '../checkpoints/shape.js';
import { appRoot } from '../version.js';
import { predictGgufSize } from './gguf-size.js';

const root = appRoot();
const python = join(root, 'python', '.venv', 'bin', 'python');
const converter = join(root, 'python', 'convert_to_gguf.py');
const tokenizerDir = join(root, 'python', 'tests', 'data', 'llama2-tokenizer');
const ready = existsSync(python) && existsSync(converter) && existsSync(tokenizerDir);
const work = mkdtempSync(join(tmpdir(), 'berth-gguf-size-moe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A random-weight mixture of experts (transformers) with the real Llama-2 SentencePiece tokenizer.
const BUILD = `
import sys, json, shutil, glob, torch, transformers
cls, kwargs, out, tok = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
cfg = getattr(transformers, cls)(**kwargs)
transformers.AutoModelForCausalLM.from_config(cfg).to(torch.bfloat16).save_pretrained(out)
for f in glob.glob(tok + "/tokenizer*") + glob.glob(tok + "/special_tokens_map.json"):
    shutil.copy(f, out)
`;

const common = {
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  pad_token_id: 0,
};
const models: Record<string, [string, Record<string, unknown>]> = {
  // 8 experts, 2 per token (llama.cpp's quantizer has rules for exactly 8 experts)
  mixtral: ['MixtralConfig', { ...common, num_local_experts: 8, num_experts_per_tok: 2 }],
  qwen3moe: [
    'Qwen3MoeConfig',
    { ...common, head_dim: 64, moe_intermediate_size: 256, num_experts: 16, num_experts_per_tok: 4 },
  ],
  // a shared expert with its gate, q/k/v biases
  qwen2moe: [
    'Qwen2MoeConfig',
    {
      ...common,
      moe_intermediate_size: 256,
      shared_expert_intermediate_size: 512,
      num_experts: 8,
      num_experts_per_tok: 2,
    },
  ],
};
const cases: Array<[string, Quantization]> = [
  ['qwen2moe', 'F16'],
  ['qwen2moe', 'Q4_K_M'],
  ['mixtral', 'F16'],
  ['mixtral', 'Q8_0'],
  ['mixtral', 'Q4_K_M'],
  ['qwen3moe', 'F16'],
  ['qwen3moe', 'Q4_K_M'],
];
const table: string[] = [];

describe.skipIf(!ready)(
  'predicted GGUF size of a mixture of experts vs the real converter and quantizer',
  () => {
    afterAll(() => {
      if (table.length)
        process.stdout.write(`\nmodel     type     predicted   real        diff\n${table.join('\n')}\n`);
    });
    it.each(cases)(
      '%s %s within 3%',
      (name, quantization) => {
        const dir = join(work, name);
        const [cls, kwargs] = models[name]!;
        if (!existsSync(dir))
          execFileSync(python, ['-c', BUILD, cls, JSON.stringify(kwargs), dir, tokenizerDir], {
            stdio: 'pipe',
          });
        const out = join(work, `${name}-${quantization}.gguf`);
        execFileSync(python, [converter, dir, out, '--quantization', quantization, '--threads', '2'], {
          stdio: 'pipe',
        });
        const real = statSync(out).size;
        const shape = modelShape(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
        expect(shape.num_experts).toBe(kwargs.num_local_experts ?? kwargs.num_experts);
        const predicted = predictGgufSize(shape, quantization, { kind: 'sentencepiece' }).total_bytes;
        const diff = (predicted - real) / real;
        table.push(
          `${name.padEnd(9)} ${quantization.padEnd(8)} ${String(predicted).padEnd(11)} ${String(real).padEnd(11)} ${(diff * 100).toFixed(2)}%`,
        );
        expect(Math.abs(diff)).toBeLessThan(0.03);
        rmSync(out, { force: true });
      },
      300_000,
    );
  },
);
