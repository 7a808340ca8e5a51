import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type BerthInstance, repoRoot, snap, startBerth } from './support/berth.js';

// compare-quants in Chromium against a real `berth serve`: a real Trainer run converted by the real converter to
// four types, each measured with real llama.cpp against its F16; the table and the chart; deploy a row. The
// fixture is tiny (random weights), so the figures are only checked for being there; their meaning is tested on a
// trained model in python/tests/test_quality.py. One window of 64 tokens per type keeps it short.
let berth: BerthInstance & { stop(): Promise<void> };
let work: string;

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-quality-'));
  cpSync(
    join(repoRoot, 'electron', 'core', 'checkpoints', '__fixtures__', 'trainer-run'),
    join(work, 'run'),
    {
      recursive: true,
    },
  );
  berth = await startBerth({
    BERTH_QUALITY_WINDOWS: '1',
    BERTH_QUALITY_CONTEXT: '64',
    BERTH_QUALITY_GPU: 'cpu',
  });
});
test.afterAll(async () => {
  await berth?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Processes other than `berth serve` itself that carry this Berth's BERTH_HOME (converter, evaluator). */
function workersOf(instance: BerthInstance): number[] {
  const mark = `BERTH_HOME=${instance.home}`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === instance.process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(mark)) out.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test('a compare run shows its progress and stops on Cancel, leaving no worker process', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(berth.uiUrl);
  await page.getByLabel('Folder or GGUF file path').fill(join(work, 'run'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await page
    .getByRole('table', { name: 'Checkpoints' })
    .getByRole('button', { name: /final/i })
    .first()
    .click();
  const compare = page.getByRole('region', { name: 'Compare quantizations' });
  await compare.getByRole('button', { name: /Compare F16, Q8_0, Q5_K_M, Q4_K_M/ }).click();
  await expect(compare.locator('progress')).toBeVisible({ timeout: 60_000 });
  await expect.poll(() => workersOf(berth).length, { timeout: 30_000 }).toBeGreaterThan(0);
  await snap(page, 'quality-compare-progress');
  await compare.getByRole('button', { name: 'Cancel' }).click();
  await expect(compare.getByRole('button', { name: /Compare F16, Q8_0, Q5_K_M, Q4_K_M/ })).toBeEnabled();
  await expect(compare.getByRole('alert')).toHaveCount(0);
  await expect(compare.locator('.quant-table')).toHaveCount(0);
  await expect.poll(() => workersOf(berth), { timeout: 15_000 }).toEqual([]);
});

test('compare quantizations of a checkpoint, see table and chart, deploy a row', async ({ page }) => {
  test.setTimeout(420_000);
  await page.goto(berth.uiUrl);
  await page.getByLabel('Folder or GGUF file path').fill(join(work, 'run'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  const table = page.getByRole('table', { name: 'Checkpoints' });
  await table.getByRole('button', { name: /final/i }).first().click();
  const compare = page.getByRole('region', { name: 'Compare quantizations' });
  await compare.getByRole('button', { name: /Compare F16, Q8_0, Q5_K_M, Q4_K_M/ }).click();
  const rows = compare.locator('.quant-table tbody tr');
  await expect(rows).toHaveCount(4, { timeout: 400_000 });
  await expect(rows.nth(0)).toContainText('F16');
  await expect(rows.nth(0)).toContainText('reference');
  await expect(rows.nth(3)).toContainText('Q4_K_M');
  await expect(rows.nth(3)).toContainText(/\d+\.\d %/); // top-1 agreement measured
  await expect(compare.getByRole('img', { name: 'Size against KL divergence' })).toBeVisible();
  await expect(compare.locator('.quant-chart circle')).toHaveCount(4);
  await compare.scrollIntoViewIfNeeded();
  await snap(page, 'quality-compare');
  await rows.nth(2).getByRole('button', { name: 'Deploy Q5_K_M' }).click();
  await expect(page.getByRole('heading', { name: 'Deploy', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Quantization')).toHaveValue('Q5_K_M');
  await expect(page.getByRole('radio', { name: 'Built-in engine' })).toBeChecked();
  await snap(page, 'quality-deploy-row');
});
