import type { Dirent } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import type { BrowseEntry, BrowseResult } from '../../../shared/checkpoints.js';
import { BerthError } from '../errors.js';
import { looksLikeModel } from './describe.js';
import { fsError, mapLimit } from './files.js';
import { userPath } from './user-path.js';

const MAX_ENTRIES = 500;

/**
 * Lists a folder for the browser UI's folder picker: subfolders and .gguf files, each marked when it is a model
 * or a run. Only the user's home and the configured roots (and what lies below them) may be listed.
 */
export async function browseFolder(
  path: string | undefined,
  roots: string[],
  env: NodeJS.ProcessEnv,
): Promise<BrowseResult> {
  const home = env.HOME ?? homedir();
  const lexical = userPath(path ?? home, env);
  const allowed = await realRoots([home, ...roots]);
  const lexicalRoots = [home, ...roots].map((r) => resolve(r));
  // Outside every root is refused before the path is touched, so the answer is the same whether it exists.
  const outside = () =>
    new BerthError(
      'PATH_OUTSIDE_ROOTS',
      `${lexical} is outside the folders Berth may browse`,
      'Add its parent to Settings > Folders (roots), or type the full path into the path field.',
    );
  if (![...allowed, ...lexicalRoots].some((r) => within(lexical, r))) throw outside();
  const target = await realpathOrThrow(lexical);
  if (!allowed.some((r) => within(target, r))) throw outside(); // a link inside a root that leads out
  let dirents: Dirent[];
  try {
    dirents = await readdir(target, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, target);
  }
  const visible = dirents
    .filter((d) => !d.name.startsWith('.'))
    .filter((d) => d.isDirectory() || d.isSymbolicLink() || d.name.toLowerCase().endsWith('.gguf'))
    .sort((a, b) => a.name.localeCompare(b.name));
  const listed = visible.slice(0, MAX_ENTRIES);
  const entries = (
    await mapLimit(listed, 16, async (d): Promise<BrowseEntry | undefined> => {
      const full = join(target, d.name);
      if (d.name.toLowerCase().endsWith('.gguf') && !d.isDirectory())
        return { name: d.name, path: full, is_model: true, is_dir: false };
      try {
        const names = await readdir(full);
        return {
          name: d.name,
          path: full,
          is_model: looksLikeModel(names) || names.some((n) => /^checkpoint-\d+$/.test(n)),
          is_dir: true,
        };
      } catch {
        return undefined; // unreadable folders and links to files are not offered
      }
    })
  ).filter((e): e is BrowseEntry => e !== undefined);
  const parent = dirname(target);
  return {
    path: target,
    ...(parent !== target && allowed.some((r) => within(parent, r)) ? { parent } : {}),
    entries,
    roots: allowed,
    truncated: visible.length > listed.length,
  };
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function realRoots(roots: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    try {
      const real = await realpath(resolve(r));
      if (!out.includes(real)) out.push(real);
    } catch {
      // a configured root that no longer exists is simply not offered
    }
  }
  return out;
}

async function realpathOrThrow(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    throw fsError(error, path);
  }
}
