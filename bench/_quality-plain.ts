// Baselines of bench/quality.ts, on exactly the windows a quality report scores. Prints {eval_seconds, windows}.
// `plain`: the engine's prompt evaluation (node-llama-cpp, no next-token distributions read back).
// `outputs`: one model's evaluation with logits on the scored positions (libllama, as the report decodes), no
// comparison: twice this is what the report cannot go below.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { loadedLibllamaPath, RawEvaluator } from '../electron/core/quality/libllama.js';
import { windows } from '../electron/core/quality/math.js';
import { loadEvalText } from '../electron/core/quality/text.js';

const [model, context, maxWindows, threads, mode] = [
  process.argv[2] as string,
  Number(process.argv[3]),
  Number(process.argv[4]),
  Number(process.argv[5]),
  process.argv[6] ?? 'plain',
];
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const m = await llama.loadModel({ modelPath: model, vocabOnly: mode === 'outputs' });
const text = loadEvalText();
const tokens = text.segments.flatMap((s) => ('text' in s ? m.tokenize(s.text, false) : []));
const wins = windows(tokens.length, context, maxWindows);
const slice = (w: (typeof wins)[number]) => {
  const t = tokens.slice(w.start, w.start + w.size - 1); // the report evaluates up to the last scored position
  if (m.tokens.bos !== null) t[0] = m.tokens.bos;
  return t;
};
let evalSeconds: number;
if (mode === 'outputs') {
  const api = RawEvaluator.bindApi(loadedLibllamaPath(llama.gpu) as string);
  const ev = await RawEvaluator.open(api, model, {
    context,
    chunkBytes: 64 << 20,
    threads,
    gpuLayers: 0,
    cpuOnly: true,
  });
  const started = performance.now();
  for (const w of wins) {
    ev.clear();
    await ev.decode(slice(w), 0, w.first);
  }
  evalSeconds = (performance.now() - started) / 1000;
  ev.dispose();
} else {
  const ctx = await m.createContext({ contextSize: context, batchSize: context, threads });
  const seq = ctx.getSequence();
  const started = performance.now();
  for (const w of wins) {
    await seq.clearHistory();
    await seq.controlledEvaluate(slice(w));
  }
  evalSeconds = (performance.now() - started) / 1000;
  await ctx.dispose();
}
process.stdout.write(JSON.stringify({ eval_seconds: evalSeconds, windows: wins.length }));
await m.dispose();
await llama.dispose();
