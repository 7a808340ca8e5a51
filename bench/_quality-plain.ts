// Baseline of bench/quality.ts: the engine's plain prompt evaluation (node-llama-cpp, no next-token
// distributions read back) of exactly the windows a quality report scores. Prints {eval_seconds, tokens}.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { windows } from '../electron/core/quality/math.js';
import { loadEvalText } from '../electron/core/quality/text.js';

const [model, context, maxWindows, threads] = [
  process.argv[2] as string,
  Number(process.argv[3]),
  Number(process.argv[4]),
  Number(process.argv[5]),
];
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const m = await llama.loadModel({ modelPath: model });
const text = loadEvalText();
const tokens = text.segments.flatMap((s) => ('text' in s ? m.tokenize(s.text, false) : []));
const ctx = await m.createContext({ contextSize: context, batchSize: context, threads });
const seq = ctx.getSequence();
const wins = windows(tokens.length, context, maxWindows);
const started = performance.now();
for (const w of wins) {
  await seq.clearHistory();
  const t = tokens.slice(w.start, w.start + w.size - 1); // the report evaluates up to the last scored position
  if (m.tokens.bos !== null) t[0] = m.tokens.bos;
  await seq.controlledEvaluate(t);
}
const evalSeconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ eval_seconds: evalSeconds, windows: wins.length }));
await ctx.dispose();
await m.dispose();
await llama.dispose();
