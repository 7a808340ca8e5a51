// Test helper: runs real llama.cpp (node-llama-cpp) on a GGUF and prints JSON on stdout.
// Input (argv[2], JSON): { model, texts?: string[], tokens?: number[], lora?: string (a LoRA adapter GGUF) }
// Output: { file_type, tokenized: number[][], logprobs: number[][] (per position, full vocabulary) }
import { getLlama } from 'node-llama-cpp';

const job = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: "error" });
const model = await llama.loadModel({ modelPath: job.model });
const out = {
  file_type: model.fileInfo.metadata.general.file_type ?? null,
  // [expert_count, expert_used_count] as llama.cpp read them, null for a dense model
  experts: (() => {
    const a = model.fileInfo.metadata[model.fileInfo.metadata.general.architecture] ?? {};
    return a.expert_count ? [a.expert_count, a.expert_used_count] : null;
  })(),
  tokenized: (job.texts ?? []).map((t) => model.tokenize(t, false)),
  logprobs: [],
};
if (job.tokens?.length) {
  const context = await model.createContext({
    contextSize: 256,
    threads: 1,
    ...(job.lora ? { lora: { adapters: [{ filePath: job.lora }] } } : {}),
  });
  const sequence = context.getSequence();
  const opts = { temperature: 1, topK: 0, topP: 1, minP: 0 };
  const res = await sequence.controlledEvaluate(
    job.tokens.map((t) => [t, { generateNext: { probabilities: true, options: opts } }]),
  );
  for (const r of res) {
    const probs = r?.next?.probabilities;
    if (!probs) throw new Error('no probabilities returned');
    const row = new Array(probs.size).fill(0);
    for (const [token, p] of probs) row[token] = Math.log(Math.max(p, 1e-30));
    out.logprobs.push(row);
  }
  await context.dispose();
}
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out));
