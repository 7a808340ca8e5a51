import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBoundaries, importsOf } from './boundaries.js';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function fakeRepo(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-boundaries-'));
  temps.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('import boundaries', () => {
  it('holds in this repository', () => {
    expect(checkBoundaries(repo)).toEqual([]);
  });

  it('fails when a core file imports electron, however it is written', () => {
    const root = fakeRepo({
      'electron/core/a.ts': "import { app } from 'electron';\n",
      'electron/core/deep/b.ts': "const e = await import('electron');\n",
      'electron/core/c.ts': "const { ipcMain } = require('electron/main');\n",
      'electron/core/ok.ts': "import { join } from 'node:path';\n",
      'electron/main/shell.ts': "import { app } from 'electron';\n",
    });
    const found = checkBoundaries(root).map((v) => `${v.file} ${v.specifier}`);
    expect(found.sort()).toEqual([
      'electron/core/a.ts electron',
      'electron/core/c.ts electron/main',
      'electron/core/deep/b.ts electron',
    ]);
  });

  it('fails when shared/ imports Node, a package other than zod, or uses the DOM', () => {
    const root = fakeRepo({
      'shared/a.ts': "import { readFileSync } from 'node:fs';\n",
      'shared/b.ts': "import path from 'path';\n",
      'shared/c.ts': "import React from 'react';\n",
      'shared/d.ts': 'export const w = () => window.innerWidth;\n',
      'shared/ok.ts':
        "import { z } from 'zod';\nimport { x } from './a.js';\n// window in a comment is fine\n",
    });
    const rules = checkBoundaries(root).map((v) => `${v.file}: ${v.rule}`);
    expect(rules.sort()).toEqual([
      'shared/a.ts: shared/ never imports Node',
      'shared/b.ts: shared/ never imports Node',
      'shared/c.ts: shared/ imports only zod and itself',
      'shared/d.ts: shared/ never uses the DOM',
    ]);
  });

  it('sees dynamic imports and re-exports', () => {
    expect(importsOf("export * from 'x';\nawait import('y');\nimport type { Z } from 'z';")).toEqual([
      'x',
      'y',
      'z',
    ]);
  });
});
