/**
 * Hands out a fixed set of slots (llama.cpp context sequences) to requests in arrival order. A request waits
 * while all are busy; an aborted wait leaves the queue without taking a slot.
 */
export class SlotPool<T> {
  readonly #free: T[];
  readonly #waiting: Array<{ resolve(slot: T): void; reject(error: unknown): void; signal?: AbortSignal }> =
    [];

  constructor(slots: T[]) {
    this.#free = [...slots];
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Resolves with a slot as soon as one is free; rejects with the signal's reason when aborted first. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const slot = this.#free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<T>((resolve, reject) => {
      const waiter = { resolve, reject, signal };
      this.#waiting.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.#waiting.indexOf(waiter);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Gives a slot back, straight to the longest waiting request if there is one. */
  release(slot: T): void {
    const next = this.#waiting.shift();
    if (next) next.resolve(slot);
    else this.#free.push(slot);
  }
}
