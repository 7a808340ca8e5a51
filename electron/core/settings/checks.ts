import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { BerthError } from '../errors.js';

/**
 * Refuses a program setting that is not an existing, regular, executable file (a folder, a FIFO, a device, a
 * script without the x bit). Symlinks are followed: a venv's python is one.
 */
export function assertExecutable(key: string, path: string): void {
  let ok = false;
  let why = 'does not exist';
  try {
    const st = statSync(path);
    if (!st.isFile()) why = 'is not a regular file';
    else {
      accessSync(path, constants.X_OK);
      ok = true;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EACCES') why = 'is not executable';
  }
  if (!ok) {
    throw new BerthError(
      'INVALID_SETTING',
      `${key}: ${path} ${why}`,
      'Give the absolute path of an executable file, e.g. /home/me/venv/bin/python.',
    );
  }
}

/** Whether an address keeps the API on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}
