import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelShape } from '../../../shared/checkpoints.js';
import type { Quantization } from '../../../shared/deploy.js';
import { appRoot } from '../version.js';
import { predictGgufSize } from './gguf-size.js';

const root = appRoot();
const python = join(root, 'python', '.venv', 'bin', 'python');
const converter = join(root, 'python', 'convert_to_gguf.py');
const tokenizerDir = join(root, 'python', 'tests', 'data', 'llama2-tokenizer');
const ready = existsSync(python) && existsSync(converter);
const work = mkdtempSync(join(tmpdir(), 'berth-gguf-size-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Builds a random-weight Llama with transformers and the real Llama-2 SentencePiece tokenizer.
const BUILD = `
import sys, json, shutil, glob, torch
from transformers import LlamaConfig, LlamaForCausalLM
shape, out, tok = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=shape["vocab_size"], hidden_size=shape["hidden_size"],
  intermediate_size=shape["intermediate_size"], num_hidden_layers=shape["num_layers"],
  num_attention_heads=shape["num_attention_heads"], num_key_value_heads=shape["num_kv_heads"],
  head_dim=shape["head_dim"], max_position_embeddings=shape["context_length"],
  tie_word_embeddings=shape["tie_word_embeddings"], torch_dtype="float16")
LlamaForCausalLM(cfg).to(torch.float16).save_pretrained(out, safe_serialization=True)
for f in glob.glob(tok + "/tokenizer*") + glob.glob(tok + "/special_tokens_map.json"):
    shutil.copy(f, out)
`;

const base: ModelShape = {
  architecture: 'LlamaForCausalLM',
  model_type: 'llama',
  num_layers: 8,
  hidden_size: 512,
  intermediate_size: 1536,
  num_attention_heads: 8,
  num_kv_heads: 4,
  head_dim: 64,
  vocab_size: 32000,
  context_length: 2048,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
};
// Rows of 320 and 864 do not split into 256-blocks: exercises llama.cpp's fallbacks (Q5_0, Q5_1, Q8_0).
const odd: ModelShape = {
  ...base,
  num_layers: 4,
  hidden_size: 320,
  intermediate_size: 864,
  num_attention_heads: 5,
  num_kv_heads: 5,
  tie_word_embeddings: true,
};

const cases: Array<[string, Quantization, ModelShape]> = [
  ['llama-512', 'F16', base],
  ['llama-512', 'Q8_0', base],
  ['llama-512', 'Q5_K_M', base],
  ['llama-512', 'Q4_K_M', base],
  ['llama-320-tied', 'Q4_K_M', odd],
  ['llama-320-tied', 'Q8_0', odd],
];

/** Predicted vs real sizes, printed for the report. */
const table: string[] = [];

describe.skipIf(!ready || !existsSync(tokenizerDir))(
  'predicted GGUF size vs the file the real converter and llama.cpp quantizer write',
  () => {
    afterAll(() => {
      if (table.length)
        process.stdout.write(
          `\nmodel            type     predicted      real           diff\n${table.join('\n')}\n`,
        );
    });
    it.each(cases)(
      '%s %s within 3%',
      (name, quantization, shape) => {
        const dir = join(work, name);
        if (!existsSync(dir))
          execFileSync(python, ['-c', BUILD, JSON.stringify(shape), dir, tokenizerDir], { stdio: 'pipe' });
        const out = join(work, `${name}-${quantization}.gguf`);
        execFileSync(python, [converter, dir, out, '--quantization', quantization, '--threads', '2'], {
          stdio: 'pipe',
        });
        const real = statSync(out).size;
        const predicted = predictGgufSize(shape, quantization, { kind: 'sentencepiece' }).total_bytes;
        const diff = (predicted - real) / real;
        table.push(
          `${name.padEnd(16)} ${quantization.padEnd(8)} ${String(predicted).padEnd(14)} ${String(real).padEnd(14)} ${(diff * 100).toFixed(2)}%`,
        );
        expect(Math.abs(diff)).toBeLessThan(0.03);
        rmSync(out, { force: true });
      },
      300_000,
    );
  },
);
