import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, repoRoot, snap, test } from './support/berth.js';

const FIXTURES = join(repoRoot, 'electron', 'core', 'checkpoints', '__fixtures__');

test.describe('checkpoint intake in the browser UI', () => {
  let work: string;
  test.beforeAll(() => {
    // A copy under a name with a space, as users' folders have.
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-ckpt-'));
    cpSync(join(FIXTURES, 'trainer-run'), join(work, 'tiny run'), { recursive: true });
  });
  // Berth is shared by every spec file in the worker: leave it with no jobs, as other specs expect.
  test.afterAll(async ({ berth }) => {
    for (const job of await berth.api<Array<{ id: string }>>('GET', '/api/training/jobs'))
      await berth.api('DELETE', `/api/training/jobs/${job.id}`);
    await berth.api('PATCH', '/api/settings', { roots: [] });
    rmSync(work, { recursive: true, force: true });
  });

  test('enter a run folder: checkpoint table, loss curve, details of the selected checkpoint', async ({
    page,
    berth,
  }) => {
    await page.goto(berth.uiUrl);
    await expect(page.getByText('Drop a training output folder here')).toBeVisible();
    await page.getByLabel('Folder or GGUF file path').fill(join(work, 'tiny run'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();

    const table = page.getByRole('table', { name: 'Checkpoints' });
    await expect(table.getByRole('row')).toHaveCount(6); // header + 4 checkpoints + final model
    await expect(table.getByRole('row', { name: /checkpoint-9/ })).toContainText('best');
    const chart = page.getByRole('img', { name: 'Loss curve across training steps' });
    await expect(chart).toBeVisible();
    // a drawn line, not an empty frame: the training-loss path has a point per logged step
    const d = await chart.locator('path.train').getAttribute('d');
    expect(d?.split('L').length).toBe(12);
    await expect(page.getByRole('navigation', { name: 'Recent runs' })).toContainText('tiny run');
    // the best checkpoint is selected first
    const details = page.getByRole('region', { name: 'Checkpoint details' });
    await expect(details.getByRole('heading', { name: 'checkpoint-9' })).toBeVisible();
    await snap(page, 'checkpoints-run');

    await table.getByRole('button', { name: 'checkpoint-6' }).click();
    await expect(details.getByRole('heading', { name: 'checkpoint-6' })).toBeVisible();
    await expect(details).toContainText('LlamaForCausalLM');
    await expect(details).toContainText('14.9K (14,928)');
    await expect(details).toContainText('step 6');
    await expect(details.getByRole('button', { name: 'Deploy…' })).toBeEnabled();
    await snap(page, 'checkpoints-selected');

    // the job is in the core, with the same id the page shows
    const jobs = await berth.api<Array<{ name: string }>>('GET', '/api/training/jobs');
    expect(jobs.map((j) => j.name)).toEqual(['tiny run']);
  });

  test('a bad path shows the error code and hint', async ({ page, berth }) => {
    await page.goto(berth.uiUrl);
    await page.getByLabel('Folder or GGUF file path').fill(join(work, 'not here'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect(alert).toContainText('PATH_NOT_FOUND');
    await expect(alert).toContainText('Check the path');
  });

  test('a dropped folder in a browser asks for its path (browsers hide it)', async ({ page, berth }) => {
    await page.goto(berth.uiUrl);
    await page.getByRole('heading', { name: 'Checkpoints', level: 1 }).waitFor();
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'my-run'));
      window.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect(page.getByText(/does not tell Berth where "my-run" lives/)).toBeVisible();
    await expect(page.getByLabel('Folder or GGUF file path')).toBeFocused();
  });

  test('Browse… lists home and the configured roots; a run opens from there', async ({ page, berth }) => {
    await berth.api('PATCH', '/api/settings', { roots: [work] });
    await page.goto(berth.uiUrl);
    await page.getByRole('button', { name: 'Browse…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose a folder' });
    await expect(dialog).toBeVisible();
    await dialog
      .getByRole('navigation', { name: 'Places' })
      .getByRole('button', { name: work.split('/').pop() })
      .click();
    await expect(dialog.getByRole('listitem').filter({ hasText: 'tiny run' })).toBeVisible();
    await snap(page, 'checkpoints-browse');
    await dialog
      .getByRole('listitem')
      .filter({ hasText: 'tiny run' })
      .getByRole('button', { name: 'Open' })
      .click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('table', { name: 'Checkpoints' })).toBeVisible();
  });

  test('dark theme', async ({ browser, berth }) => {
    const context = await browser.newContext({ colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(berth.uiUrl);
    // the run registered above is in the recent list; open it
    await page
      .getByRole('navigation', { name: 'Recent runs' })
      .getByRole('button', { name: /^tiny run run/ })
      .click();
    await expect(page.getByRole('img', { name: 'Loss curve across training steps' })).toBeVisible();
    await snap(page, 'checkpoints-dark');
    await context.close();
  });
});
