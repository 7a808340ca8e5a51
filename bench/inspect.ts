// Checkpoint inspection speed and memory on sparse files with real safetensors headers: a Llama-3.1-8B and a
// Llama-3-70B layout (headers written, tensor data left as holes), and a run of 50 checkpoints x 4 shards.
// Baselines, side by side: `stat` of the same files, and reading the raw header bytes without parsing.
// Run: npx tsx bench/inspect.ts   (writes bench/results/inspect.json)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { inspectPath } from '../electron/core/checkpoints/inspect.js';
import { writeSafetensors } from '../electron/core/checkpoints/test-fixtures.js';

interface Layout {
  name: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  shards: number;
}
const LLAMA_8B: Layout = {
  name: 'llama-3.1-8b',
  hidden: 4096,
  layers: 32,
  heads: 32,
  kvHeads: 8,
  intermediate: 14336,
  vocab: 128256,
  shards: 4,
};
const LLAMA_70B: Layout = {
  name: 'llama-3-70b',
  hidden: 8192,
  layers: 80,
  heads: 64,
  kvHeads: 8,
  intermediate: 28672,
  vocab: 128256,
  shards: 30,
};

/** The tensors of a Llama checkpoint, with transformers' names and shapes (bf16). */
function llamaTensors(l: Layout): Array<[string, number[]]> {
  const headDim = l.hidden / l.heads;
  const t: Array<[string, number[]]> = [['model.embed_tokens.weight', [l.vocab, l.hidden]]];
  for (let i = 0; i < l.layers; i++) {
    const p = `model.layers.${i}`;
    t.push(
      [`${p}.self_attn.q_proj.weight`, [l.hidden, l.hidden]],
      [`${p}.self_attn.k_proj.weight`, [l.kvHeads * headDim, l.hidden]],
      [`${p}.self_attn.v_proj.weight`, [l.kvHeads * headDim, l.hidden]],
      [`${p}.self_attn.o_proj.weight`, [l.hidden, l.hidden]],
      [`${p}.mlp.gate_proj.weight`, [l.intermediate, l.hidden]],
      [`${p}.mlp.up_proj.weight`, [l.intermediate, l.hidden]],
      [`${p}.mlp.down_proj.weight`, [l.hidden, l.intermediate]],
      [`${p}.input_layernorm.weight`, [l.hidden]],
      [`${p}.post_attention_layernorm.weight`, [l.hidden]],
    );
  }
  t.push(['model.norm.weight', [l.hidden]], ['lm_head.weight', [l.vocab, l.hidden]]);
  return t;
}

/** Writes one checkpoint folder: config.json, sharded sparse safetensors and the index. */
function writeCheckpoint(dir: string, l: Layout, step?: number): number {
  mkdirSync(dir, { recursive: true });
  const tensors = llamaTensors(l);
  const perShard = Math.ceil(tensors.length / l.shards);
  const weightMap: Record<string, string> = {};
  let params = 0;
  for (let s = 0; s < l.shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(l.shards).padStart(5, '0')}.safetensors`;
    const slice = tensors.slice(s * perShard, (s + 1) * perShard);
    const spec: Record<string, { dtype: string; shape: number[] }> = {};
    for (const [name, shape] of slice) {
      spec[name] = { dtype: 'BF16', shape };
      weightMap[name] = file;
      params += shape.reduce((a, b) => a * b, 1);
    }
    writeSafetensors(join(dir, file), spec, { sparse: true });
  }
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: params * 2 }, weight_map: weightMap }),
  );
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: l.hidden,
      num_hidden_layers: l.layers,
      num_attention_heads: l.heads,
      num_key_value_heads: l.kvHeads,
      intermediate_size: l.intermediate,
      vocab_size: l.vocab,
      max_position_embeddings: 131072,
      torch_dtype: 'bfloat16',
      tie_word_embeddings: false,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
      },
    }),
  );
  if (step !== undefined) {
    // a log every 10 steps and an eval every checkpoint, as a real trainer_state.json grows
    const history = [];
    for (let s = 10; s <= step; s += 10)
      history.push({ step: s, epoch: s / 25000, loss: 2 + 1 / s, grad_norm: 1, learning_rate: 2e-5 });
    for (let s = 500; s <= step; s += 500)
      history.push({ step: s, eval_loss: 2.1 + 1 / s, eval_runtime: 10 });
    writeFileSync(
      join(dir, 'trainer_state.json'),
      JSON.stringify({
        global_step: step,
        epoch: step / 25000,
        best_model_checkpoint: `out/checkpoint-${step}`,
        best_metric: 2.1,
        log_history: history,
      }),
    );
  }
  return params;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function timeIt(
  fn: () => Promise<unknown>,
  runs: number,
): Promise<{ median_ms: number; min_ms: number; runs: number }> {
  await fn(); // warm: page cache and JIT
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { median_ms: round(median(times)), min_ms: round(Math.min(...times)), runs };
}

async function shardFiles(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.safetensors')) out.push(join(e.parentPath, e.name));
  }
  return out;
}

async function baselineStat(files: string[]) {
  for (const f of files) await stat(f);
}

async function baselineRawHeaders(files: string[]) {
  for (const f of files) {
    const fh = await open(f, 'r');
    try {
      const len = Buffer.alloc(8);
      await fh.read(len, 0, 8, 0);
      const n = Number(len.readBigUInt64LE(0));
      await fh.read(Buffer.alloc(n), 0, n, 8);
    } finally {
      await fh.close();
    }
  }
}

/** RSS and heap growth over repeated inspections of one layout (after a warm-up, GC'd when possible). */
async function memory(path: string, repeats: number) {
  // Expose gc without a node flag (tsx starts its own node), so heap figures are after a collection.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  await inspectPath(path);
  gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  for (let i = 0; i < repeats; i++) {
    await inspectPath(path);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  gc?.();
  const after = process.memoryUsage();
  return {
    rss_growth_mib: round((peakRss - before.rss) / 2 ** 20),
    heap_after_minus_before_mib: round((after.heapUsed - before.heapUsed) / 2 ** 20),
    gc_exposed: Boolean(gc),
  };
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'berth-bench-inspect-'));
  try {
    const t0 = performance.now();
    const m8 = join(root, 'llama-8b');
    const params8 = writeCheckpoint(m8, LLAMA_8B);
    const m70 = join(root, 'llama-70b');
    const params70 = writeCheckpoint(m70, LLAMA_70B);
    const run = join(root, 'run-50x4');
    for (let i = 1; i <= 50; i++) writeCheckpoint(join(run, `checkpoint-${i * 500}`), LLAMA_8B, i * 500);
    const setupS = round((performance.now() - t0) / 1000);

    const check8 = (await inspectPath(m8)).checkpoints[0];
    const check70 = (await inspectPath(m70)).checkpoints[0];
    const checkRun = await inspectPath(run);
    if (
      check8?.parameters !== params8 ||
      check70?.parameters !== params70 ||
      checkRun.checkpoints.length !== 50
    )
      throw new Error('inspection disagrees with the layout it was given');

    const runFiles = await shardFiles(run);
    const runs = 9;
    const results = {
      what: 'inspectPath() warm, on sparse safetensors with real headers (data = holes), vs stat and raw header reads of the same files',
      layouts: {
        [LLAMA_8B.name]: {
          parameters: params8,
          shards: LLAMA_8B.shards,
          logical_gib: round((check8?.size_bytes ?? 0) / 2 ** 30),
        },
        [LLAMA_70B.name]: {
          parameters: params70,
          shards: LLAMA_70B.shards,
          logical_gib: round((check70?.size_bytes ?? 0) / 2 ** 30),
        },
      },
      run_50x4: {
        checkpoints: 50,
        shard_files: runFiles.length,
        inspect: await timeIt(() => inspectPath(run), runs),
        baseline_stat: await timeIt(() => baselineStat(runFiles), runs),
        baseline_raw_headers: await timeIt(() => baselineRawHeaders(runFiles), runs),
      },
      model_8b: { inspect: await timeIt(() => inspectPath(m8), runs) },
      model_70b: { inspect: await timeIt(() => inspectPath(m70), runs) },
      memory: {
        [LLAMA_8B.name]: await memory(m8, 30),
        [LLAMA_70B.name]: await memory(m70, 30),
      },
      goals: { run_50x4_warm_ms: '<= 300', memory: 'does not grow with model size' },
      setup_s: setupS,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      measured_at: new Date().toISOString(),
    };
    const r = results.run_50x4;
    const summary = {
      ...results,
      ratio_inspect_to_raw_headers: round(
        r.inspect.median_ms / Math.max(r.baseline_raw_headers.median_ms, 0.01),
        2,
      ),
      ratio_inspect_to_stat: round(r.inspect.median_ms / Math.max(r.baseline_stat.median_ms, 0.01), 2),
      meets_goals: r.inspect.median_ms <= 300,
    };
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'inspect.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
