import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or packaged app) root: the folder holding package.json, python/ and resources/. */
export function appRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'berth') return dir;
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  throw new Error('Berth could not find its own package.json');
}

/** Berth's version from package.json. */
export function berthVersion(): string {
  const pkg = JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
