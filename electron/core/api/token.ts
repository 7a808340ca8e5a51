import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { writePrivateFile } from '../private-fs.js';

/** Reads the API token, creating it (0600) on first run. */
export function ensureToken(file: string): string {
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 32) {
      chmodSync(file, 0o600);
      return token;
    }
  } catch {
    // first run: create below
  }
  return regenerateToken(file);
}

/** Writes a fresh random token atomically with mode 0600 and returns it. */
export function regenerateToken(file: string): string {
  const token = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${token}\n`);
  return token;
}

/** Compares a presented token with the real one in constant time (hashing first equalizes the lengths). */
export function tokenMatches(presented: string | undefined, actual: string): boolean {
  if (!presented) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(actual).digest();
  return timingSafeEqual(a, b);
}
