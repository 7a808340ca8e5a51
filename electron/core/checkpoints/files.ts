import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { BerthError } from '../errors.js';

/** Turns a file-system failure into an intake error with a code the user can act on. */
export function fsError(error: unknown, path: string): BerthError {
  if (error instanceof BerthError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new BerthError('PATH_NOT_FOUND', `Nothing at ${path}`, 'Check the path; it may have been moved.');
  if (code === 'ELOOP')
    return new BerthError(
      'SYMLINK_LOOP',
      `${path} is a symbolic link that points back to itself`,
      'Fix or remove the link.',
    );
  if (code === 'EACCES' || code === 'EPERM')
    return new BerthError(
      'FILE_UNREADABLE',
      `Berth may not read ${path}`,
      'Give your user read permission on it (Berth only reads; it never changes your files).',
    );
  return new BerthError('FILE_UNREADABLE', `Cannot read ${path}: ${(error as Error).message}`);
}

/** stat that follows links and reports failures as BerthErrors. */
export async function statOrThrow(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (error) {
    throw fsError(error, path);
  }
}

/** Opens a file read-only; sources are never written. */
export async function openReadOnly(path: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_RDONLY);
  } catch (error) {
    throw fsError(error, path);
  }
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/** Small JSON files (config, trainer state) are capped so a huge or hostile file cannot exhaust memory. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Reads and parses a JSON file; `code` names what is wrong when it is not JSON (e.g. CONFIG_INVALID). */
export async function readJsonFile(path: string, code: string): Promise<unknown> {
  const info = await statOrThrow(path);
  if (info.size > MAX_JSON_BYTES)
    throw new BerthError(code, `${basename(path)} is ${info.size} bytes; that is not a config file`);
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', flag: 'r' });
  } catch (error) {
    throw fsError(error, path);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BerthError(
      code,
      `${basename(path)} is not valid JSON: ${(error as Error).message}`,
      `Open ${path} and fix it, or save the model again.`,
    );
  }
}

/** Whether a value is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs `fn` over items with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
