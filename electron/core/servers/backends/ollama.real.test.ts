import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';
import { SettingsSchema } from '../../../../shared/settings.js';
import { ollamaScenarios } from '../test-support/ollama-scenarios.js';
import { findOllama } from './ollama.js';

// The same scenarios against a real `ollama` on PATH. Skipped where none is installed (as on Berth's CI and
// dev machines, which have no GPU and cannot install it), or where the one on PATH is Berth's stand-in.
const binary = findOllama(SettingsSchema.parse({}), process.env);
const isReal = (() => {
  if (!binary) return false;
  try {
    return (
      !execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }).includes('stand-in') &&
      !binary.includes('test-standins')
    );
  } catch {
    return false;
  }
})();

describe.skipIf(!isReal)(
  `ollama backend with a real Ollama (${isReal ? binary : 'skipped: no real ollama on PATH'})`,
  () => {
    ollamaScenarios({ path: process.env.PATH ?? '', standin: false });
  },
);
