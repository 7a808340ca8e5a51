import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** A file importing what its folder may not. */
export interface BoundaryViolation {
  file: string;
  specifier: string;
  rule: string;
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** DOM globals shared/ must not touch (the tsconfig's lib already refuses their types). */
const DOM_GLOBALS = /\b(window|document|localStorage|sessionStorage|navigator|HTMLElement)\b/;

function walk(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === '__fixtures__') return [];
    if (statSync(path).isDirectory()) return walk(path);
    return /\.(ts|tsx|mts|cts)$/.test(name) ? [path] : [];
  });
}

/** Every module specifier a file imports: static, dynamic, re-exports and require(). */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/**
 * The two boundaries that keep the core portable: electron/core never imports electron (it runs under plain
 * Node, headless and in tests), and shared/ imports neither Node nor Electron nor the DOM (the renderer uses it).
 */
export function checkBoundaries(root: string): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  for (const file of walk(join(root, 'electron', 'core'))) {
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier === 'electron' || specifier.startsWith('electron/')) {
        violations.push({ file: relative(root, file), specifier, rule: 'the core never imports electron' });
      }
    }
  }
  for (const file of walk(join(root, 'shared'))) {
    const source = readFileSync(file, 'utf8');
    for (const specifier of importsOf(source)) {
      if (specifier === 'electron' || specifier.startsWith('electron/')) {
        violations.push({ file: relative(root, file), specifier, rule: 'shared/ never imports electron' });
      } else if (NODE_BUILTINS.has(specifier)) {
        violations.push({ file: relative(root, file), specifier, rule: 'shared/ never imports Node' });
      } else if (!specifier.startsWith('.') && specifier !== 'zod' && !file.endsWith('.test.ts')) {
        violations.push({
          file: relative(root, file),
          specifier,
          rule: 'shared/ imports only zod and itself',
        });
      }
    }
    if (!file.endsWith('.test.ts') && DOM_GLOBALS.test(source.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) {
      violations.push({
        file: relative(root, file),
        specifier: '(DOM global)',
        rule: 'shared/ never uses the DOM',
      });
    }
  }
  return violations;
}
