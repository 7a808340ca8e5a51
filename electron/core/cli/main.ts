import { toErrorShape } from '../errors.js';
import { parseCommandArgs } from './command.js';
import { commands } from './commands/index.js';
import { type CliIo, printError, processIo } from './output.js';

/** Entry of the `berth` command; resolves with the exit code. */
export async function main(
  argv: string[],
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    const { berthVersion } = await import('../version.js');
    io.out(`${berthVersion()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`berth: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let args: ReturnType<typeof parseCommandArgs>;
  try {
    args = parseCommandArgs(command, rest);
  } catch (error) {
    io.err(`berth ${name}: ${(error as Error).message}\nusage: ${command.usage}\n`);
    return 2;
  }
  if (args.values.help) {
    io.out(`${command.summary}\n\nusage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io, env);
  } catch (error) {
    printError(io, toErrorShape(error), Boolean(args.values.json));
    return 1;
  }
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: berth <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nEvery command takes --json for machine-readable output and --help.\n`;
}
