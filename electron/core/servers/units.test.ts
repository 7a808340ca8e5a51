import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv } from './child-env.js';
import { LogSink } from './log-sink.js';
import { nextRestartDelay } from './restart-policy.js';

describe('childEnv', () => {
  it('keeps only the allowlist, the additions and CUDA_VISIBLE_DEVICES; never LD_PRELOAD or DYLD_*', () => {
    const env = childEnv(
      {
        PATH: '/bin',
        HOME: '/h',
        LC_ALL: 'C',
        SECRET_TOKEN: 's',
        LD_PRELOAD: '/evil.so',
        DYLD_INSERT_LIBRARIES: 'x',
      },
      { PYTHONPATH: '/p', LD_PRELOAD: '/also-evil.so' },
      '0,1',
    );
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/h',
      LC_ALL: 'C',
      PYTHONPATH: '/p',
      CUDA_VISIBLE_DEVICES: '0,1',
    });
  });
});

describe('nextRestartDelay', () => {
  it('doubles from 1 s to 60 s and allows at most 5 restarts in 10 minutes', () => {
    const now = 1_000_000_000;
    expect(nextRestartDelay([], now)).toBe(1_000);
    expect(nextRestartDelay([now - 5], now)).toBe(2_000);
    expect(nextRestartDelay([now - 3, now - 2, now - 1], now)).toBe(8_000);
    expect(
      nextRestartDelay(
        [1, 2, 3, 4, 5].map((i) => now - i),
        now,
      ),
    ).toBeUndefined();
    // Restarts older than the window no longer count.
    expect(
      nextRestartDelay(
        [1, 2, 3, 4, 5].map((i) => now - 10 * 60_000 - i),
        now,
      ),
    ).toBe(1_000);
    const tight = { baseMs: 1_000, maxMs: 60_000, maxRestarts: 100, windowMs: 10 * 60_000 };
    expect(nextRestartDelay(Array(7).fill(now), now, tight)).toBe(60_000);
  });
});

describe('LogSink', () => {
  it('keeps the last lines in a ring, writes the file with the origin, and rotates at the size limit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-sink-'));
    try {
      const file = join(dir, 'a.log');
      const sink = new LogSink(file, '[vllm m pid 42]', 400, 3);
      const followed: string[] = [];
      const off = sink.follow((l) => followed.push(l.line));
      for (let i = 0; i < 10; i++) sink.write('stdout', `line ${i}`);
      off();
      sink.write('stderr', 'after unfollow');
      expect(sink.tail().map((l) => l.line)).toEqual(['line 8', 'line 9', 'after unfollow']);
      expect(sink.tail(1)[0]).toMatchObject({ stream: 'stderr', line: 'after unfollow' });
      expect(followed).toHaveLength(10);
      expect(statSync(file).size).toBeLessThanOrEqual(400);
      expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/Z \[vllm m pid 42\] stdout: line \d\n/);
      expect(readFileSync(file, 'utf8')).toContain('[vllm m pid 42] stderr: after unfollow');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
