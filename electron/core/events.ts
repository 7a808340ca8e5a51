import type { BerthEvent } from '../../shared/events.js';

export type EventListener = (event: BerthEvent) => void;

/** The core's one event stream. Listeners that throw are isolated from each other and from the emitter. */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  /** Subscribes; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: BerthEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A broken listener (e.g. a closed SSE socket) must not stop the others, but must not vanish either.
        process.emitWarning(`Berth event listener failed on ${event.type}: ${String(error)}`);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
