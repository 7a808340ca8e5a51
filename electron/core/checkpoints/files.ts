import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BerthErrorShape } from '../../../shared/errors.js';
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
  if (code === 'ENXIO') return notAFile(path, 'a socket');
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

/** Refuses a path that is not a regular file (a FIFO would block a reader forever; a device never ends). */
function notAFile(path: string, what: string): BerthError {
  return new BerthError(
    'NOT_A_FILE',
    `${path} is ${what}, not a regular file`,
    'Replace it with the real file (Berth reads only regular files from a model folder).',
  );
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/**
 * Opens a regular file read-only; sources are never written. O_NONBLOCK keeps a FIFO swapped in after any
 * check from blocking a thread of Node's small file-I/O pool (four FIFOs would stall every file read in
 * Berth), and the handle itself is checked, so there is no window between the check and the read.
 */
export async function openReadOnly(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fsError(error, path);
  }
  const info = await fh.stat();
  if (!info.isFile()) {
    await fh.close();
    throw notAFile(path, kindOf(info));
  }
  return fh;
}

/** Whether a folder entry is one a model loader or the converter would open. */
function isModelFile(name: string): boolean {
  return /\.(json|safetensors|bin|model|txt|jinja|gguf|pt|pth)$/.test(name);
}

/**
 * The model files in a folder that are not regular files (FIFOs, sockets, devices, folders named like files),
 * each with a NOT_A_FILE error naming it. stat never blocks, even on a FIFO.
 */
export async function irregularModelFiles(
  dir: string,
  names: string[],
): Promise<Array<{ name: string; error: BerthErrorShape }>> {
  const found: Array<{ name: string; error: BerthErrorShape }> = [];
  await mapLimit(names.filter(isModelFile), 8, async (name) => {
    const info = await stat(`${dir}/${name}`).catch(() => undefined); // missing or a loop: reported by the reader
    if (info && !info.isFile())
      found.push({ name, error: notAFile(`${dir}/${name}`, kindOf(info)).toJSON() });
  });
  return found.sort((a, b) => a.name.localeCompare(b.name));
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

/**
 * Size caps of the JSON files inspection reads, each far above any real one, so a huge or hostile file is
 * refused from its size instead of being parsed whole (parsing costs several times the file in memory).
 */
export const JSON_LIMITS = {
  /** config.json, adapter_config.json, generation_config.json: real ones are a few KB. */
  config: 4 * 1024 * 1024,
  /** model.safetensors.index.json: ~100 bytes per tensor; a 100k-tensor MoE stays under 16 MB. */
  index: 32 * 1024 * 1024,
  /** tokenizer_config.json: added tokens and chat templates, a few MB at most. */
  tokenizer: 32 * 1024 * 1024,
  /** trainer_state.json: one log entry per logged step; a million steps stay under 200 MB. */
  trainerState: 256 * 1024 * 1024,
} as const;

/** Reads and parses a JSON file; `code` names what is wrong when it is not JSON (e.g. CONFIG_INVALID). */
export async function readJsonFile(
  path: string,
  code: string,
  maxBytes: number = JSON_LIMITS.config,
): Promise<unknown> {
  const fh = await openReadOnly(path);
  let text: string;
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) {
      throw new BerthError(
        'FILE_TOO_LARGE',
        `${basename(path)} is ${formatMiB(size)}; Berth reads at most ${formatMiB(maxBytes)} of it`,
        `Check ${path}: a real ${basename(path)} is far smaller. Save the model again if it was overwritten.`,
      );
    }
    // Read at most the cap plus one byte: a file growing while we read is refused too.
    const buffer = await readAt(fh, 0, Math.min(size, maxBytes) + 1);
    if (buffer.length > maxBytes)
      throw new BerthError('FILE_TOO_LARGE', `${basename(path)} grew past ${formatMiB(maxBytes)} while read`);
    text = buffer.toString('utf8');
  } catch (error) {
    throw fsError(error, path);
  } finally {
    await fh.close();
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

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
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
