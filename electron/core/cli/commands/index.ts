import type { Command } from '../command.js';
import { serveCommand } from './serve.js';

/** Every `berth` subcommand; later issues add theirs here. */
export const commands: Command[] = [serveCommand];
