import { describe, expect, it } from 'vitest';
import { SlotPool } from './sequence-pool.js';

describe('SlotPool', () => {
  it('hands out free slots, then queues in arrival order', async () => {
    const pool = new SlotPool(['a', 'b']);
    expect(await pool.acquire()).toBe('a');
    expect(await pool.acquire()).toBe('b');
    const order: string[] = [];
    const third = pool.acquire().then((s) => order.push(`third:${s}`));
    const fourth = pool.acquire().then((s) => order.push(`fourth:${s}`));
    expect(pool.queued).toBe(2);
    pool.release('b');
    pool.release('a');
    await Promise.all([third, fourth]);
    expect(order).toEqual(['third:b', 'fourth:a']);
  });

  it('drops an aborted waiter without losing the slot', async () => {
    const pool = new SlotPool(['only']);
    await pool.acquire();
    const abort = new AbortController();
    const waiting = pool.acquire(abort.signal);
    abort.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(pool.queued).toBe(0);
    pool.release('only');
    expect(await pool.acquire()).toBe('only');
  });
});
