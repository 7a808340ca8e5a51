import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type BerthInstance, repoRoot, snap, startBerth } from './support/berth.js';

// Measure quality at deploy (issue 13), in Chromium against a real `berth serve`: the deploy form offers the
// checkbox with its default and reason, the deploy runs the quality stage (real converter for the GGUF and its
// F16, the real evaluator child), the server card and the checkpoint details show the kept verdict. The fixture is
// tiny (random weights): the figures are only checked for being there. Two windows of 64 tokens keep it short.
let berth: BerthInstance & { stop(): Promise<void> };
let work: string;

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-dq-'));
  cpSync(
    join(repoRoot, 'electron', 'core', 'checkpoints', '__fixtures__', 'trainer-run'),
    join(work, 'run'),
    { recursive: true },
  );
  berth = await startBerth({
    BERTH_QUALITY_WINDOWS: '2',
    BERTH_QUALITY_CONTEXT: '64',
    BERTH_QUALITY_GPU: 'cpu',
  });
});
test.afterAll(async () => {
  await berth?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('deploy with "Measure quality": the default and its reason, the stage, the verdict on the card and checkpoint', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.goto(berth.uiUrl);
  await page.getByLabel('Folder or GGUF file path').fill(join(work, 'run'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  const table = page.getByRole('table', { name: 'Checkpoints' });
  await table.getByRole('button', { name: /final/i }).first().click();
  await page
    .getByRole('button', { name: /Deploy/ })
    .first()
    .click();
  await expect(page.getByRole('heading', { name: 'Deploy', level: 1 })).toBeVisible();

  await page.getByRole('radio', { name: 'Built-in engine' }).check();
  await page.getByLabel('Quantization').selectOption('Q4_K_M');
  const box = page.getByRole('checkbox', { name: 'Measure quality (KL against F16)' });
  // The default comes from the core's rule once the recommendation is in: on, for this tiny model.
  await expect(page.getByText(/^Small model: about \d+ s\.$/)).toBeVisible({ timeout: 30_000 });
  await expect(box).toBeChecked();
  await expect(box).toBeEnabled();
  // F16 is the reference itself: nothing to measure.
  await page.getByLabel('Quantization').selectOption('F16');
  await expect(box).toBeDisabled();
  await expect(page.getByText('F16 is the reference itself.')).toBeVisible();
  await page.getByLabel('Quantization').selectOption('Q4_K_M');
  await expect(box).toBeChecked();
  await page.getByLabel('Context length').fill('256');
  await page.getByLabel('Name').fill('dq-engine');
  await box.scrollIntoViewIfNeeded();
  await snap(page, 'deploy-quality-form');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();

  const progress = page.getByRole('region', { name: /Deployment of/ });
  const stages = progress.getByRole('list', { name: 'Deployment stages' });
  const qualityStep = stages.getByRole('listitem').filter({ hasText: 'Quality' });
  await expect(qualityStep).toContainText('started', { timeout: 120_000 });
  await expect(progress.getByText('Running.')).toBeVisible({ timeout: 180_000 });
  await expect(qualityStep).toContainText('done');
  const note = progress.getByRole('status', { name: 'Quality measurement' });
  await expect(note).toContainText(/Q4_K_M: top-1 agreement \d+ %, KL [\d.e+-]+, PPL [+−][\d.]+ %/);
  await expect(stages.getByRole('listitem').filter({ hasText: 'Start' })).toContainText('done');
  // The box was left at its default: the core applied the same rule.
  await expect(progress.getByRole('log', { name: 'Deployment log' })).toContainText(
    /quality: measuring Q4_K_M against F16 \(on by default: small model: about \d+ s\)/,
  );
  await snap(page, 'deploy-quality-stage');

  await progress.getByRole('button', { name: 'Open Servers' }).click();
  const card = page.getByRole('article', { name: 'server dq-engine' });
  await expect(card).toContainText('running');
  const verdict = card.locator('dd[title]').filter({ hasText: /^Q4_K_M: top-1 agreement/ });
  await expect(verdict).toBeVisible({ timeout: 15_000 });
  await expect(verdict).toHaveAttribute('title', /full-precision model/);
  await snap(page, 'deploy-quality-card');

  // The checkpoint details list the kept report's verdict with its plain reading.
  await page.getByRole('link', { name: 'Checkpoints' }).click();
  await page.getByRole('navigation', { name: 'Recent runs' }).getByText('run').first().click();
  await page
    .getByRole('table', { name: 'Checkpoints' })
    .getByRole('button', { name: /final/i })
    .first()
    .click();
  const measured = page.getByRole('list', { name: 'Measured quality' });
  await expect(measured).toContainText(/Q4_K_M: top-1 agreement \d+ %/);
  await expect(measured).toContainText(/full-precision model/);
  await measured.scrollIntoViewIfNeeded();
  await snap(page, 'deploy-quality-checkpoint');

  await page.getByRole('link', { name: 'Servers' }).click();
  await card.getByRole('button', { name: 'Stop' }).click();
  await expect(card.locator('.status')).toHaveText('stopped', { timeout: 30_000 });
});
