import type { BerthEvent } from '../../../shared/events.js';
import { getApi } from '../api/index.js';
import { useAppStore } from './app.js';
import { useServersStore } from './servers.js';

type Handler = (events: BerthEvent[]) => void;
const handlers: Handler[] = [];

/** Lets a domain store receive core events (batched per animation frame). */
export function onCoreEvents(handler: Handler): void {
  handlers.push(handler);
}

/**
 * Subscribes once to the core's events and hands them to the stores, one batch per animation frame, so a
 * burst of log lines or progress events causes one render, not thousands.
 */
export function connectStores(): () => void {
  let queue: BerthEvent[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    for (const event of batch) {
      useServersStore.getState().apply(event);
      if (event.type === 'settings.changed') void useAppStore.getState().load();
    }
    for (const handler of handlers) handler(batch);
  };
  return getApi().onEvent((event) => {
    queue.push(event);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  });
}
