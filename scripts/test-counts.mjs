// Reads the test counts out of a runner's output, for npm test's closing line.

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC
const ansi = /\u001b\[[0-9;]*m/g;

/** Test counts from a runner's output (vitest, pytest or Playwright summary lines). */
export function countTests(name, output) {
  const text = output.replace(ansi, '');
  if (name === 'vitest') {
    const line = /^\s*Tests\s+(.*)$/m.exec(text)?.[1] ?? '';
    return {
      passed: Number(/(\d+) passed/.exec(line)?.[1] ?? 0),
      failed: Number(/(\d+) failed/.exec(line)?.[1] ?? 0),
      skipped: Number(/(\d+) skipped/.exec(line)?.[1] ?? 0),
    };
  }
  if (name === 'pytest' || name === 'e2e') {
    const tail = text.split('\n').slice(-40).join('\n');
    return {
      passed: Number(/(\d+) passed/.exec(tail)?.[1] ?? 0),
      failed: Number(/(\d+) failed/.exec(tail)?.[1] ?? 0),
      skipped: Number(/(\d+) skipped/.exec(tail)?.[1] ?? 0),
    };
  }
  return undefined;
}
