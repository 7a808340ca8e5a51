import type { BerthErrorShape } from '../../../shared/errors.js';

/** Where a command writes; tests pass buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  isTty: boolean;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTty: Boolean(process.stdout.isTTY),
};

/** Prints an error as JSON (with --json) or as two readable lines. */
export function printError(io: CliIo, error: BerthErrorShape, json: boolean): void {
  if (json) io.out(`${JSON.stringify({ success: false, error })}\n`);
  else io.err(`error [${error.code}]: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
}

export { formatBytes } from '../../../shared/format.js';
