import { chmodSync, fchmodSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';

/**
 * Berth's data folder holds the API token, server logs, prompts in logs and converted models: only its user may
 * read it. Modes are set explicitly after creation, because the mode given to mkdir/open is filtered through
 * the process umask, which may be anything (a permissive 000 in a container, 002 on some desktops).
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) with mode 0700 each. */
export function mkdirPrivate(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // mkdir returns the first folder it created: fix every level from there down to `dir`.
  const levels = relative(first, dir).split(sep).filter(Boolean);
  let current = first;
  chmodSync(current, PRIVATE_DIR_MODE);
  for (const level of levels) {
    current = `${current}${sep}${level}`;
    chmodSync(current, PRIVATE_DIR_MODE);
  }
}

/** Writes a whole file atomically (temp file, then rename) with mode 0600. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  mkdirPrivate(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: PRIVATE_FILE_MODE });
  chmodSync(tmp, PRIVATE_FILE_MODE);
  renameSync(tmp, path);
}

/** Opens (creating with mode 0600) a file in the data folder; the caller closes the descriptor. */
export function openPrivate(path: string, flags: string): number {
  const fd = openSync(path, flags, PRIVATE_FILE_MODE);
  fchmodSync(fd, PRIVATE_FILE_MODE);
  return fd;
}

/** Makes a file another process wrote into the data folder (the converter's GGUF) private. */
export function makePrivate(path: string): void {
  chmodSync(path, PRIVATE_FILE_MODE);
}
