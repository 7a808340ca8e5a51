// Test helper for test_quality.py: a GGUF's next-token probabilities on given windows, straight from real
// llama.cpp (node-llama-cpp), independent of Berth's evaluator: each window in a fresh sequence, the whole
// window at once, no chunking, no Berth math. Writes float32 probabilities, positions `first` .. n-2 of every
// window, the full vocabulary each, to `out` (row-major), and prints {rows, vocab}.
// Input (argv[2], JSON): { model, windows: number[][], first, out }
import { writeFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const job = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: job.model });
const n = Math.max(...job.windows.map((w) => w.length));
const context = await model.createContext({ contextSize: n, batchSize: n, threads: 2 });
const sequence = context.getSequence();
const rows = [];
let vocab = 0;
for (const w of job.windows) {
  await sequence.clearHistory();
  const input = w.map((t, i) =>
    i >= job.first && i < w.length - 1 ? [t, { generateNext: { probabilities: true } }] : t,
  );
  const res = await sequence.controlledEvaluate(input);
  for (let i = job.first; i < w.length - 1; i++) {
    const probs = res[i]?.next?.probabilities;
    if (!probs) throw new Error(`no probabilities at ${i}`);
    vocab = probs.size;
    const row = new Float32Array(vocab);
    for (const [token, p] of probs) row[token] = p;
    rows.push(row);
  }
}
const out = new Float32Array(rows.length * vocab);
rows.forEach((r, i) => out.set(r, i * vocab));
writeFileSync(job.out, Buffer.from(out.buffer));
await context.dispose();
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify({ rows: rows.length, vocab }));
