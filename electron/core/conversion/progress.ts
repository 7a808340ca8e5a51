import { z } from 'zod';
import type { Progress } from '../../../shared/events.js';

/** The converter's stdout protocol: one JSON object per line (python/berth_convert/progress.py). */
const ProgressLineSchema = z.object({
  stage: z.enum(['convert', 'quantize']),
  tensor: z.number(),
  tensors: z.number(),
  bytes_done: z.number(),
  bytes_total: z.number(),
  elapsed_s: z.number(),
});
const DoneLineSchema = z.object({
  event: z.literal('done'),
  path: z.string(),
  bytes: z.number(),
});
const ErrorLineSchema = z.object({
  event: z.literal('error'),
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
});
export type ConverterProgressLine = z.infer<typeof ProgressLineSchema>;
export type ConverterLine =
  | ({ kind: 'progress' } & ConverterProgressLine)
  | ({ kind: 'done' } & z.infer<typeof DoneLineSchema>)
  | ({ kind: 'error' } & z.infer<typeof ErrorLineSchema>);

/** One stdout line in, a typed converter event out (undefined for anything that is not one). */
export function parseConverterLine(line: string): ConverterLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const progress = ProgressLineSchema.safeParse(value);
  if (progress.success) return { kind: 'progress', ...progress.data };
  const done = DoneLineSchema.safeParse(value);
  if (done.success) return { kind: 'done', ...done.data };
  const error = ErrorLineSchema.safeParse(value);
  if (error.success) return { kind: 'error', ...error.data };
  return undefined;
}

/** Turns progress lines into `Progress` (bytes, per-stage elapsed time and ETA); remembers when stages began. */
export class ProgressTracker {
  private readonly stageStart = new Map<string, number>();

  toProgress(line: ConverterProgressLine): Progress {
    const start = this.stageStart.get(line.stage) ?? line.elapsed_s;
    this.stageStart.set(line.stage, start);
    const elapsed = Math.max(0, line.elapsed_s - start);
    const rate = elapsed > 0 ? line.bytes_done / elapsed : 0;
    const remaining = Math.max(0, line.bytes_total - line.bytes_done);
    return {
      stage: line.stage,
      done: line.bytes_done,
      total: line.bytes_total,
      unit: 'bytes',
      elapsed_s: elapsed,
      ...(rate > 0 ? { eta_s: remaining / rate } : {}),
      detail: line.stage === 'convert' ? `tensor ${line.tensor} of ${line.tensors}` : 'llama.cpp quantizer',
    };
  }
}
