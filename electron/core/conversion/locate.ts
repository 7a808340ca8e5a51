import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../errors.js';

/** The folder holding python/convert_to_gguf.py: the repo (dev, tests) or the app's resources (packaged). */
export function converterRoot(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env.BERTH_CONVERTER_ROOT) candidates.push(env.BERTH_CONVERTER_ROOT);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    candidates.push(dir);
    dir = dirname(dir);
  }
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  if (resources) candidates.push(resources, join(resources, 'app.asar.unpacked'));
  const found = candidates.find((c) => existsSync(join(c, 'python', 'convert_to_gguf.py')));
  if (!found) {
    throw new BerthError(
      'CONVERTER_ENV_MISSING',
      'python/convert_to_gguf.py was not found next to Berth',
      'Reinstall Berth, or set BERTH_CONVERTER_ROOT to the folder that holds python/convert_to_gguf.py.',
    );
  }
  return found;
}

/** CONVERTER_VERSION from python/berth_convert/__init__.py: part of every cache key. */
export function converterVersion(root: string): string {
  const text = readFileSync(join(root, 'python', 'berth_convert', '__init__.py'), 'utf8');
  const match = /CONVERTER_VERSION\s*=\s*"([^"]+)"/.exec(text);
  if (!match?.[1]) throw new BerthError('INTERNAL', 'CONVERTER_VERSION missing in berth_convert');
  return match[1];
}
