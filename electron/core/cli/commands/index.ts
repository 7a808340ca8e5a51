import type { Command } from '../command.js';
import { convertCommand } from './convert.js';
import { deployCommand } from './deploy.js';
import { inspectCommand } from './inspect.js';
import { logsCommand } from './logs.js';
import { lsCommand } from './ls.js';
import { compareQuantsCommand, qualityCommand } from './quality.js';
import { recommendCommand } from './recommend.js';
import { serveCommand } from './serve.js';
import { stopCommand } from './stop.js';
import { systemCommand } from './system.js';

/** Every `berth` subcommand; later issues add theirs here. */
export const commands: Command[] = [
  serveCommand,
  inspectCommand,
  deployCommand,
  lsCommand,
  stopCommand,
  logsCommand,
  systemCommand,
  recommendCommand,
  convertCommand,
  qualityCommand,
  compareQuantsCommand,
];
