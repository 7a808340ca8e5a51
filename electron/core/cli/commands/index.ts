import type { Command } from '../command.js';
import { deployCommand } from './deploy.js';
import { inspectCommand } from './inspect.js';
import { serveCommand } from './serve.js';

/** Every `berth` subcommand; later issues add theirs here. */
export const commands: Command[] = [serveCommand, inspectCommand, deployCommand];
