import type { Core } from '../app.js';
import { toErrorShape } from '../errors.js';

let running: Promise<void> | undefined;

/**
 * Creates the converter's Python environment in the background (Settings > Set up the converter), reporting
 * each step as a converter.setup event. A second request while one runs joins it.
 */
export function startConverterSetup(core: Core): Promise<void> {
  if (running) return running;
  core.bus.emit({ type: 'converter.setup', state: 'running' });
  running = core.conversion
    .ensureEnv((progress) => core.bus.emit({ type: 'converter.setup', state: 'running', progress }))
    .then(
      () => core.bus.emit({ type: 'converter.setup', state: 'done' }),
      (error) => core.bus.emit({ type: 'converter.setup', state: 'failed', error: toErrorShape(error) }),
    )
    .finally(() => {
      running = undefined;
    });
  return running;
}
