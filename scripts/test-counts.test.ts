import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs helper of the test script, without types
import { countTests } from './test-counts.mjs';

describe("npm test's totals", () => {
  it('reads vitest, pytest and Playwright summaries, colours or not', () => {
    expect(
      countTests(
        'vitest',
        ' \u001b[2m      Tests \u001b[22m \u001b[1m\u001b[32m332 passed\u001b[39m\u001b[22m\u001b[2m | \u001b[22m\u001b[33m9 skipped\u001b[39m\u001b[90m (341)\u001b[39m\n',
      ),
    ).toEqual({
      passed: 332,
      failed: 0,
      skipped: 9,
    });
    expect(countTests('vitest', '      Tests  2 failed | 330 passed | 9 skipped (341)\n')).toEqual({
      passed: 330,
      failed: 2,
      skipped: 9,
    });
    expect(countTests('pytest', '....\n36 passed in 51.00s\n')).toEqual({
      passed: 36,
      failed: 0,
      skipped: 0,
    });
    expect(countTests('pytest', '1 failed, 35 passed, 2 skipped in 50s\n')).toEqual({
      passed: 35,
      failed: 1,
      skipped: 2,
    });
    expect(countTests('e2e', '  1 skipped\n  15 passed (26.4s)\n')).toEqual({
      passed: 15,
      failed: 0,
      skipped: 1,
    });
    expect(countTests('lint', 'Checked 242 files')).toBeUndefined();
  });
});
