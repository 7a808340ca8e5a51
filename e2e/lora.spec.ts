import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type BerthInstance, repoRoot, snap, startBerth } from './support/berth.js';

// A run whose checkpoints are PEFT LoRA adapters (real ones, made with peft: make_lora_fixtures.py), deployed
// from the window to the built-in engine as an adapter over the base GGUF: the form offers the two ways with
// the trade-off, shows the base it found, and the deployment reaches Running with the adapter applied.
let berth: BerthInstance & { stop(): Promise<void> };
let work: string;
const fixtures = join(repoRoot, 'electron', 'core', 'checkpoints', '__fixtures__');

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-lora-'));
  cpSync(join(fixtures, 'lora-run'), join(work, 'lora-run'), { recursive: true });
  cpSync(join(fixtures, 'tiny-llama-bf16'), join(work, 'tiny-llama-bf16'), { recursive: true });
  berth = await startBerth({});
});
test.afterAll(async () => {
  await berth?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('a LoRA checkpoint: choose adapter or merged with the trade-off shown, deploy to the built-in engine', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await page.goto(berth.uiUrl);
  await page.getByLabel('Folder or GGUF file path').fill(join(work, 'lora-run'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  const table = page.getByRole('table', { name: 'Checkpoints' });
  await table.getByRole('button', { name: 'checkpoint-2' }).click();
  await page
    .getByRole('button', { name: /Deploy/ })
    .first()
    .click();
  await expect(page.getByRole('heading', { name: 'Deploy', level: 1 })).toBeVisible();
  await page.getByRole('radio', { name: 'Built-in engine' }).check();
  await page.getByLabel('Quantization').selectOption('Q4_K_M');
  const mode = page.getByRole('combobox', { name: /^LoRA adapter/ });
  await expect(mode).toBeVisible();
  // the default below Q8_0 is merged, with the reason
  await expect(page.getByText(/Merged by default at Q4_K_M/)).toBeVisible();
  await expect(page.getByText(/Found: .*tiny-llama-bf16/)).toBeVisible();
  await page.getByLabel('Quantization').selectOption('F16');
  await mode.selectOption('adapter');
  await expect(page.getByText(/switching checkpoints costs seconds/)).toBeVisible();
  await page.getByLabel('Context length').fill('256');
  await page.getByLabel('Name').fill('flow-lora');
  await snap(page, 'lora-deploy-form');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();

  const progress = page.getByRole('region', { name: /Deployment of/ });
  const log = progress.getByRole('log', { name: 'Deployment log' });
  await expect(log).toContainText('LoRA adapter served adapter', { timeout: 60_000 });
  await expect(progress.getByText('Running.')).toBeVisible({ timeout: 180_000 });
  const servers = await berth.api<Array<{ name: string; command: string[] }>>('GET', '/api/servers');
  const server = servers.find((s) => s.name === 'flow-lora');
  expect(server?.command).toContain('--lora');
  await snap(page, 'lora-deployed');

  // base vs adapter in one click: the same prompt to the adapter and to the base without it
  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByRole('button', { name: 'Compare with base model' }).click();
  await page.getByLabel('Max tokens').fill('8');
  await page.getByLabel('Temperature').fill('0');
  await page.getByLabel('Prompt').fill('Hello, model');
  await page.getByRole('button', { name: 'Send' }).click();
  const stats = /\d+ tokens · [\d.]+ tok\/s/;
  const adapter = page.getByRole('region', { name: 'Chat with flow-lora', exact: true });
  const base = page.getByRole('region', { name: 'Chat with flow-lora · base model (no adapter)' });
  await expect(adapter).toContainText(stats, { timeout: 60_000 });
  await expect(base).toContainText(stats, { timeout: 60_000 });
  const reply = (pane: typeof base) => pane.locator('.turn-assistant .turn-text').textContent();
  expect(await reply(adapter)).not.toBe(await reply(base)); // the adapter changes the answer
  await snap(page, 'lora-playground-base-vs-adapter');
});
