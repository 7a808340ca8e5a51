import { describe, expect, it } from 'vitest';
import { ProgressTracker, parseConverterLine } from './progress.js';

describe('parseConverterLine', () => {
  it.each([
    [
      '{"stage": "convert", "tensor": 3, "tensors": 21, "bytes_done": 100, "bytes_total": 400, "elapsed_s": 1.5}',
      'progress',
    ],
    ['{"event": "done", "path": "/x/m.gguf", "bytes": 1234, "elapsed_s": 2.0}', 'done'],
    ['{"event": "error", "code": "TENSOR_MISSING", "message": "no tensor x", "hint": "copy it"}', 'error'],
  ])('reads %s', (line, kind) => {
    expect(parseConverterLine(line)?.kind).toBe(kind);
  });

  it.each(['not json', '{"stage": "upload", "tensor": 1}', '{"event": "done"}', ''])('ignores %j', (line) => {
    expect(parseConverterLine(line)).toBeUndefined();
  });
});

describe('ProgressTracker', () => {
  it('measures elapsed time and ETA from the start of each stage', () => {
    const t = new ProgressTracker();
    const line = (stage: 'convert' | 'quantize', done: number, elapsed: number) => ({
      stage,
      tensor: 1,
      tensors: 2,
      bytes_done: done,
      bytes_total: 1000,
      elapsed_s: elapsed,
    });
    expect(t.toProgress(line('convert', 0, 1))).toMatchObject({ stage: 'convert', done: 0, elapsed_s: 0 });
    expect(t.toProgress(line('convert', 500, 3))).toMatchObject({ done: 500, total: 1000, eta_s: 2 });
    const q = t.toProgress(line('quantize', 250, 5));
    expect(q).toMatchObject({ stage: 'quantize', unit: 'bytes', elapsed_s: 0 });
    expect(q.eta_s).toBeUndefined();
    expect(t.toProgress(line('quantize', 500, 6)).eta_s).toBe(1);
  });
});
