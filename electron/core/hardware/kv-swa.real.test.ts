import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { modelShape } from '../checkpoints/shape.js';
import { appRoot } from '../version.js';
import { kvCacheBytes } from './memory.js';

const root = appRoot();
const python = join(root, 'python', '.venv', 'bin', 'python');
const converter = join(root, 'python', 'convert_to_gguf.py');
const tokenizerDir = join(root, 'python', 'tests', 'data', 'llama2-tokenizer');
const ready =
  existsSync(python) && existsSync(converter) && existsSync(join(root, 'node_modules', 'node-llama-cpp'));
const work = mkdtempSync(join(tmpdir(), 'berth-kv-swa-'));
const nodeLlamaCpp = pathToFileURL(join(root, 'node_modules', 'node-llama-cpp', 'dist', 'index.js')).href;
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A random-weight Gemma 2 / Gemma 3 text model (transformers) with the real Llama-2 SentencePiece tokenizer.
const BUILD = `
import sys, json, shutil, glob, torch, transformers
cls, kwargs, out, tok = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
cfg = getattr(transformers, cls)(**kwargs)
transformers.AutoModelForCausalLM.from_config(cfg).to(torch.float16).save_pretrained(out)
for f in glob.glob(tok + "/tokenizer*") + glob.glob(tok + "/special_tokens_map.json"):
    shutil.copy(f, out)
`;

// Loads the GGUF in node-llama-cpp exactly as the built-in engine does (createContext with the context and
// sequences) and prints what llama.cpp logs about its KV cache buffers.
// llama.cpp's log lines reach JS through a thread-safe queue that drains in batches, so createContext can resolve
// before the lines it caused arrive (seen on a busy CI machine: one of the two KV cache lines was missing). The
// script waits for the compute-buffer line, which llama.cpp logs after both caches, and then for a quiet spell.
const LOAD = `
const [lib, path, ctx, seqs] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(lib);
const lines = [];
let last = Date.now();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.info,
  logger: (_level, message) => { lines.push(message); last = Date.now(); } });
const model = await llama.loadModel({ modelPath: path });
const context = await model.createContext({ contextSize: Number(ctx), sequences: Number(seqs), threads: 1 });
const start = Date.now();
while (Date.now() - start < 60000 &&
  (!lines.some((l) => /compute buffer size/.test(l)) || Date.now() - last < 500))
  await new Promise((r) => setTimeout(r, 50));
process.stdout.write(lines.join('\\n'));
await context.dispose(); await model.dispose(); await llama.dispose();
`;

const common = {
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 512,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 64,
  query_pre_attn_scalar: 64,
  max_position_embeddings: 8192,
  pad_token_id: 0,
};
const cases: Array<[string, string, Record<string, unknown>, number, number]> = [
  // [name, transformers config class, its arguments, context, sequences]
  // 12 layers: 10 sliding (window 256), 2 global
  ['gemma3', 'Gemma3TextConfig', { ...common, num_hidden_layers: 12, sliding_window: 256 }, 4096, 1],
  ['gemma3', 'Gemma3TextConfig', { ...common, num_hidden_layers: 12, sliding_window: 256 }, 2048, 2],
  // 8 layers: every other one sliding (window 512)
  ['gemma2', 'Gemma2Config', { ...common, num_hidden_layers: 8, sliding_window: 512 }, 4096, 1],
];

const table: string[] = [];

describe.skipIf(!ready || !existsSync(tokenizerDir))(
  'sliding-window KV cache: predicted vs the buffers llama.cpp logs (node-llama-cpp, as the built-in engine)',
  () => {
    afterAll(() => {
      if (table.length)
        process.stdout.write(`\nmodel    ctx   seqs  predicted   llama.cpp   diff\n${table.join('\n')}\n`);
    });
    it.each(cases)(
      '%s (%s): within 5%',
      (name, cls, kwargs, context, seqs) => {
        const dir = join(work, name);
        const gguf = join(work, `${name}.gguf`);
        if (!existsSync(gguf)) {
          execFileSync(python, ['-c', BUILD, cls, JSON.stringify(kwargs), dir, tokenizerDir], {
            stdio: 'pipe',
          });
          execFileSync(python, [converter, dir, gguf], { stdio: 'pipe' });
        }
        const shape = modelShape(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
        expect(shape.sliding_window_layers).toBe(name === 'gemma3' ? 10 : 4);
        // a script file, not -e: node-llama-cpp starts child processes with this process's flags
        const script = join(work, 'load.mjs');
        writeFileSync(script, LOAD);
        const log = execFileSync(
          process.execPath,
          [script, nodeLlamaCpp, gguf, String(context), String(seqs)],
          { cwd: root, encoding: 'utf8' },
        );
        // llama_kv_cache: size =    4.00 MiB (  4096 cells,   2 layers,  1/1 seqs), ...: one per cache
        const sizes = [...log.matchAll(/llama_kv_cache: size =\s*([\d.]+) MiB/g)].map(
          (m) => Number(m[1]) * 1024 ** 2,
        );
        expect(sizes.length).toBe(2); // the full-attention cache and the sliding-window one
        const real = sizes.reduce((a, b) => a + b, 0);
        const predicted = kvCacheBytes(shape, context, 2, seqs, 'llamacpp');
        const diff = (predicted - real) / real;
        table.push(
          `${name.padEnd(8)} ${String(context).padEnd(5)} ${String(seqs).padEnd(5)} ${String(predicted).padEnd(11)} ${String(Math.round(real)).padEnd(11)} ${(diff * 100).toFixed(2)}%`,
        );
        expect(Math.abs(diff)).toBeLessThan(0.05);
        // the old estimate (every layer holding the full context) was far off
        const everyLayerFull = kvCacheBytes({ ...shape, sliding_window_layers: 0 }, context, 2, seqs);
        expect(everyLayerFull / real).toBeGreaterThan(1.3);
      },
      300_000,
    );
  },
);
