// The baseline for bench/engine.ts, in its own process (so its llama.cpp threads never share a process with the
// HTTP client): node-llama-cpp generating in-process, exactly as the engine calls it per request. Reads
// "run" lines on stdin, answers one JSON line per run: { tokens, ttftMs, totalMs }.
import { createInterface } from 'node:readline';
import { type ChatHistoryItem, getLlama, LlamaChat, LlamaLogLevel } from 'node-llama-cpp';

const [modelPath, prompt, maxTokens, threads, ctx] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: modelPath as string });
const context = await model.createContext({ contextSize: Number(ctx), threads: Number(threads) });
const sequence = context.getSequence();

async function run() {
  const chat = new LlamaChat({ contextSequence: sequence });
  const history: ChatHistoryItem[] = [
    { type: 'user', text: prompt as string },
    { type: 'model', response: [] },
  ];
  const t0 = performance.now();
  let first = 0;
  const before = sequence.tokenMeter.usedOutputTokens;
  await chat.generateResponse(history, {
    maxTokens: Number(maxTokens),
    temperature: 0,
    repeatPenalty: false,
    onResponseChunk: (chunk) => {
      if (!first && chunk.text) first = performance.now() - t0;
    },
  });
  const totalMs = performance.now() - t0;
  chat.dispose({ disposeSequence: false });
  return { tokens: sequence.tokenMeter.usedOutputTokens - before, ttftMs: first, totalMs };
}

process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'run') break;
  process.stdout.write(`${JSON.stringify(await run())}\n`);
}
await llama.dispose();
