import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { BerthError } from '../errors.js';

/**
 * A path a user or script sent: `~` and `~/x` are the home folder, as in a shell; a relative path is refused,
 * since it would resolve against Berth's own working folder (which the caller cannot see, and should not learn).
 */
export function userPath(path: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? homedir();
  const expanded = path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
  if (!isAbsolute(expanded)) {
    throw new BerthError(
      'INVALID_REQUEST',
      `${path} is a relative path`,
      'Give an absolute path (or one starting with ~ for your home folder).',
    );
  }
  return resolve(expanded);
}
