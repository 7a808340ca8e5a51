// Runs the quality evaluator (child.ts) as a child process, as the llama.cpp backend runs the engine: this
// process's Node with the compiled child.js, or child.ts through tsx when Berth runs from source (tests).
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { QualityProgress, QualityReport } from '../../../shared/quality.js';
import { BerthError } from '../errors.js';
import type { EvaluatorFigures, EvaluatorJob, EvaluatorLine } from './protocol.js';
import { type EvalText, loadEvalText } from './text.js';

export interface EvaluatorCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export function defaultEvaluatorCommand(): EvaluatorCommand {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./child.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const env: Record<string, string> = process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {};
  if (!fromSource) return { command: process.execPath, args: [entry], env };
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  return { command: process.execPath, args: ['--import', 'tsx', entry], env, cwd: root };
}

export interface MeasureOptions {
  model: string;
  reference: string;
  /** A loaded text, or a path (.txt / .jsonl); the default text when neither. */
  text?: EvalText | string;
  /** Window size (tokens); defaults to min(512, the model's training context). */
  context?: number;
  maxWindows?: number;
  threads?: number;
  gpu?: 'auto' | 'cpu';
  chunkBytes?: number;
  signal?: AbortSignal;
  onProgress?: (p: QualityProgress) => void;
  onLog?: (line: string) => void;
  command?: EvaluatorCommand;
  /** Extra job fields (tests: dump_windows, test_shift). */
  extra?: Partial<EvaluatorJob>;
  now?: () => number;
}

export const DEFAULT_CONTEXT = 512;

/** Measures `model` against `reference` over the evaluation text; resolves with the report. */
export async function measureQuality(o: MeasureOptions): Promise<QualityReport> {
  const { figures, text } = await runEvaluator(o);
  if (!figures) throw new BerthError('QUALITY_FAILED', 'The evaluator finished without figures');
  return {
    ...figures,
    model_path: o.model,
    reference_path: o.reference,
    text: text.info,
    created_at: new Date((o.now ?? Date.now)()).toISOString(),
  };
}

/** Greedy generation speed of one GGUF here (a short generation, as the built-in engine generates). */
export async function measureSpeed(
  o: Omit<MeasureOptions, 'reference'> & { tokens?: number },
): Promise<number | undefined> {
  const { speed } = await runEvaluator({
    ...o,
    reference: o.model,
    context: o.context ?? 256,
    extra: { ...o.extra, speed_only: true, speed_tokens: o.tokens ?? 32 },
  });
  return speed ?? undefined;
}

async function runEvaluator(
  o: MeasureOptions,
): Promise<{ figures?: EvaluatorFigures; speed?: number | null; text: EvalText }> {
  const text = typeof o.text === 'object' ? o.text : loadEvalText(o.text);
  const context = o.context ?? DEFAULT_CONTEXT;
  const job: EvaluatorJob = {
    model: o.model,
    reference: o.reference,
    segments: text.segments,
    context,
    ...(o.maxWindows ? { max_windows: o.maxWindows } : {}),
    // node-llama-cpp's own default spins more threads than a busy small machine has: one-token decoding then
    // crawls (0.6 tokens/s instead of 1,400 on the 2-core test box). Leave a core free instead.
    threads: o.threads ?? Math.max(1, availableParallelism() - 1),
    gpu: o.gpu ?? 'auto',
    ...(o.chunkBytes ? { chunk_bytes: o.chunkBytes } : {}),
    ...o.extra,
  };
  const cmd = o.command ?? defaultEvaluatorCommand();
  const child = execa(cmd.command, cmd.args, {
    ...(cmd.cwd ? { cwd: cmd.cwd } : {}),
    env: { ...process.env, ...cmd.env },
    reject: false,
    buffer: false,
    input: JSON.stringify(job),
    ...(o.signal ? { cancelSignal: o.signal } : {}),
    killSignal: 'SIGTERM',
    forceKillAfterDelay: 5_000,
  });
  let figures: EvaluatorFigures | undefined;
  let speed: number | null | undefined;
  let failure: { code: string; message: string; hint?: string } | undefined;
  const stderrTail: string[] = [];
  const stdout = createInterface({ input: child.stdout });
  const outClosed = new Promise((r) => stdout.once('close', r));
  stdout.on('line', (raw) => {
    let line: EvaluatorLine;
    try {
      line = JSON.parse(raw) as EvaluatorLine;
    } catch {
      if (raw.trim()) o.onLog?.(raw);
      return;
    }
    if (line.event === 'progress') {
      const { event: _e, ...p } = line;
      o.onProgress?.(p);
    } else if (line.event === 'done') figures = line.figures;
    else if (line.event === 'speed') speed = line.tokens_per_second;
    else if (line.event === 'error') failure = line;
  });
  const stderr = createInterface({ input: child.stderr });
  const errClosed = new Promise((r) => stderr.once('close', r));
  stderr.on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    o.onLog?.(line);
  });
  const result = await child;
  await Promise.all([outClosed, errClosed]);
  if (job.dump_windows && !figures) rmSync(job.dump_windows, { force: true });
  if (result.isCanceled || o.signal?.aborted) {
    throw new BerthError('CANCELLED', `Measuring ${o.model} was cancelled`, 'Nothing was recorded.');
  }
  if (failure) throw new BerthError(failure.code, failure.message, failure.hint);
  if (result.exitCode !== 0 || (!figures && speed === undefined)) {
    throw new BerthError(
      'QUALITY_FAILED',
      `The evaluator exited with ${result.exitCode ?? result.signal}: ${stderrTail.slice(-3).join(' ')}`,
      'The log has the details.',
      { log_tail: stderrTail },
    );
  }
  return { ...(figures ? { figures } : {}), ...(speed !== undefined ? { speed } : {}), text };
}
