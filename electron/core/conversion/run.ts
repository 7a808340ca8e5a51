import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { Quantization } from '../../../shared/deploy.js';
import type { Progress } from '../../../shared/events.js';
import { BerthError } from '../errors.js';
import { childEnv } from './child-env.js';
import { ProgressTracker, parseConverterLine } from './progress.js';

export type LogStream = 'stdout' | 'stderr' | 'berth';

export interface RunConverterOptions {
  python: string;
  root: string;
  modelPath: string;
  outPath: string;
  quantization: Quantization;
  tokenizerDir?: string;
  /** A LoRA adapter (python/lora_to_gguf.py): modelPath is then the adapter, `base` its base model folder. */
  lora?: { base: string; mode: 'adapter' | 'merged' };
  env: NodeJS.ProcessEnv;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onLog?: (line: string, stream: LogStream) => void;
}

/** Files the converter may leave if it is killed hard (it removes them itself on SIGTERM). */
export function partialPaths(outPath: string): string[] {
  return [`${outPath}.partial`, `${outPath}.f16.partial`, `${outPath}.bf16.partial`];
}

/**
 * Runs python/convert_to_gguf.py as a child (argument array, no shell): progress lines become `Progress`,
 * stderr becomes log lines, abort sends SIGTERM (then SIGKILL) and removes partials. Resolves with the size.
 */
export async function runConverter(o: RunConverterOptions): Promise<{ path: string; bytes: number }> {
  const script = join(o.root, 'python', o.lora ? 'lora_to_gguf.py' : 'convert_to_gguf.py');
  const args = [script, o.modelPath, o.outPath, '--quantization', o.quantization, '--json-progress'];
  if (o.lora) args.push('--base', o.lora.base, '--mode', o.lora.mode);
  args.push('--threads', String(o.threads ?? availableParallelism()));
  if (o.tokenizerDir) args.push('--tokenizer-dir', o.tokenizerDir);
  const tag = `[convert ${basename(o.modelPath)}]`;
  o.onLog?.(`${tag} ${o.python} ${args.join(' ')}`, 'berth');
  const child = execa(o.python, args, {
    env: childEnv(o.env),
    extendEnv: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    ...(o.signal ? { cancelSignal: o.signal } : {}),
    killSignal: 'SIGTERM',
    forceKillAfterDelay: 10_000,
  });
  const tracker = new ProgressTracker();
  let done: { path: string; bytes: number } | undefined;
  let failure: { code: string; message: string; hint?: string } | undefined;
  const stderrTail: string[] = [];
  const stdout = createInterface({ input: child.stdout });
  const outClosed = new Promise((r) => stdout.once('close', r));
  stdout.on('line', (line) => {
    const event = parseConverterLine(line);
    if (!event) {
      if (line.trim()) o.onLog?.(`${tag} ${line}`, 'stdout');
    } else if (event.kind === 'progress') o.onProgress?.(tracker.toProgress(event));
    else if (event.kind === 'done') done = { path: event.path, bytes: event.bytes };
    else failure = event;
  });
  const stderr = createInterface({ input: child.stderr });
  const errClosed = new Promise((r) => stderr.once('close', r));
  stderr.on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    o.onLog?.(`${tag} ${line}`, 'stderr');
  });
  const result = await child;
  await Promise.all([outClosed, errClosed]); // every line read before deciding
  if (result.exitCode === 0 && done) return done;
  for (const p of partialPaths(o.outPath)) rmSync(p, { force: true });
  if (result.isCanceled || o.signal?.aborted) {
    throw new BerthError('CANCELLED', `Conversion of ${o.modelPath} was cancelled`, 'Nothing was written.');
  }
  if (failure) throw new BerthError(failure.code, failure.message, failure.hint);
  throw new BerthError(
    'CONVERSION_FAILED',
    `The converter exited with ${result.exitCode ?? result.signal}: ${stderrTail.slice(-3).join(' ')}`,
    'The conversion log has the details.',
    { log_tail: stderrTail },
  );
}
