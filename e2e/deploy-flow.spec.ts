import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type BerthInstance, repoRoot, snap, startBerth } from './support/berth.js';

// The main flow a user walks, in Chromium against a real `berth serve`: open a real Trainer run, see what fits,
// deploy to the built-in llama.cpp engine (a real conversion by the real converter), watch the stages and the
// live log, see the card reach "running", chat in the playground, stop it. Then the same to the Ollama stand-in
// (test-standins/ollama: Ollama itself cannot be installed here).
let berth: BerthInstance & { stop(): Promise<void> };
let work: string;

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-flow-'));
  cpSync(
    join(repoRoot, 'electron', 'core', 'checkpoints', '__fixtures__', 'trainer-run'),
    join(work, 'my run'),
    {
      recursive: true,
    },
  );
  berth = await startBerth({
    PATH: `${join(repoRoot, 'test-standins', 'ollama')}:${process.env.PATH}`,
    PYTHONPATH: join(repoRoot, 'test-standins', 'vllm'),
  });
  // An Ollama host nobody listens on, so Berth starts (and owns) the stand-in on a port of its own.
  await berth.api('PATCH', '/api/settings', { ollama: { host: 'http://127.0.0.1:1' } });
});
test.afterAll(async () => {
  await berth?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('open a run, see what fits, deploy to the built-in engine, chat, stop', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(berth.uiUrl);
  await page.getByLabel('Folder or GGUF file path').fill(join(work, 'my run'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  const table = page.getByRole('table', { name: 'Checkpoints' });
  await expect(table.getByRole('row')).toHaveCount(6);
  // The run's final model (at its root) carries the tokenizer; deploy that one.
  await table.getByRole('button', { name: /final/i }).first().click();
  await page
    .getByRole('button', { name: /Deploy/ })
    .first()
    .click();

  await expect(page.getByRole('heading', { name: 'Deploy', level: 1 })).toBeVisible();
  const fits = page.getByRole('region', { name: 'What fits' });
  // The memory picture with its arithmetic, and the form's defaults taken from it (with the reason shown).
  await expect(fits).toContainText(/weights \+ .* KV \+ .* overhead/, { timeout: 30_000 });
  await expect(page.getByText(/what the recommendation picks for this machine/)).toBeVisible();
  // The form's context follows the model's own maximum (256 for this tiny model) until the user sets it.
  await expect(page.getByLabel('Context length')).toHaveValue('256');
  await snap(page, 'flow-deploy-form');

  await page.getByRole('radio', { name: 'Built-in engine' }).check();
  await page.getByLabel('Quantization').selectOption('Q8_0');
  await page.getByLabel('Context length').fill('256');
  await page.getByLabel('Name').fill('flow-engine');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();

  const progress = page.getByRole('region', { name: /Deployment of/ });
  await expect(progress).toBeVisible();
  const log = progress.getByRole('log', { name: 'Deployment log' });
  await expect(log).toContainText('convert', { timeout: 60_000 });
  await expect(progress.getByText('Running.')).toBeVisible({ timeout: 120_000 });
  const stages = progress.getByRole('list', { name: 'Deployment stages' });
  await expect(stages.getByRole('listitem').filter({ hasText: 'Convert' })).toContainText('done');
  await expect(stages.getByRole('listitem').filter({ hasText: 'Healthy' })).toContainText('done');
  await snap(page, 'flow-deployed');

  await progress.getByRole('button', { name: 'Open Servers' }).click();
  const card = page.getByRole('article', { name: 'server flow-engine' });
  await expect(card).toContainText('running');
  await expect(card).toContainText('Built-in engine');
  await card.getByRole('button', { name: 'Python' }).click();
  await expect(card).toContainText('from openai import OpenAI');
  await card.getByRole('button', { name: 'Logs' }).click();
  await expect(card.getByRole('log')).toContainText('engine');
  await snap(page, 'flow-servers');

  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByLabel('Max tokens').fill('8');
  await page.getByLabel('Temperature').fill('0');
  await page.getByLabel('Prompt').fill('Hello, model');
  await page.getByRole('button', { name: 'Send' }).click();
  const pane = page.getByRole('region', { name: 'Chat with flow-engine' });
  await expect(pane).toContainText(/\d+ tokens · [\d.]+ tok\/s/, { timeout: 60_000 });
  await snap(page, 'flow-playground');

  await page.getByRole('link', { name: 'Servers' }).click();
  await card.getByRole('button', { name: 'Stop' }).click();
  await expect(card.locator('.status')).toHaveText('stopped', { timeout: 30_000 });
  await snap(page, 'flow-stopped');

  // The GGUF it converted is listed in Settings with its size, and can be deleted there.
  await page.getByRole('link', { name: 'Settings' }).click();
  const cache = page.getByRole('table', { name: 'Cached GGUFs' });
  await expect(cache.getByRole('row').filter({ hasText: 'Q8_0' })).toHaveCount(1);
  await expect(cache).toContainText(/KiB|MiB/);
  await snap(page, 'flow-settings-cache');
  await cache.getByRole('button', { name: /Delete Q8_0 GGUF/ }).click();
  await expect(cache.getByRole('row').filter({ hasText: 'Q8_0' })).toHaveCount(0);
});

test('deploy to Ollama (stand-in): conversion, import, running card', async ({ page }) => {
  test.setTimeout(240_000);
  const jobs = await berth.api<Array<{ id: string; name: string }>>('GET', '/api/training/jobs');
  const job = jobs.find((j) => j.name === 'my run');
  expect(job).toBeDefined();
  await page.goto(berth.uiUrl);
  await page.getByRole('navigation', { name: 'Recent runs' }).getByText('my run').click();
  const table = page.getByRole('table', { name: 'Checkpoints' });
  await table.getByRole('button', { name: /final/i }).first().click();
  await page
    .getByRole('button', { name: /Deploy/ })
    .first()
    .click();
  await page.getByRole('radio', { name: 'Ollama' }).check();
  await page.getByLabel('Quantization').selectOption('Q4_K_M');
  await page.getByLabel('Context length').fill('256');
  await page.getByLabel('Name').fill('flow-ollama');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  const progress = page.getByRole('region', { name: /Deployment of/ });
  await expect(progress.getByText('Running.')).toBeVisible({ timeout: 120_000 });
  const stages = progress.getByRole('list', { name: 'Deployment stages' });
  await expect(stages.getByRole('listitem').filter({ hasText: 'Import' })).toContainText('done');
  await progress.getByRole('button', { name: 'Open Servers' }).click();
  await expect(page.getByRole('article', { name: 'server flow-ollama' })).toContainText('Ollama');
  await snap(page, 'flow-ollama');
});

test('keyboard only: from the address to a deployment form', async ({ page }) => {
  await page.goto(berth.uiUrl);
  await page.keyboard.press('Tab');
  // Every nav link is reachable and labelled.
  for (const label of ['Checkpoints', 'Deploy', 'Servers', 'Playground', 'System', 'Settings']) {
    await expect(page.getByRole('link', { name: label })).toBeVisible();
  }
  await page.getByRole('link', { name: 'Servers' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Servers', level: 1 })).toBeVisible();
});
