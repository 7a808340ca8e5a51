import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { CliIo } from './output.js';

/** One `berth <name>` subcommand. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Runs the command; resolves with the exit code. */
  run(args: ParsedArgs, io: CliIo, env: NodeJS.ProcessEnv): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** Parses argv for a command (strict: unknown flags are errors). */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  return { values, positionals };
}
