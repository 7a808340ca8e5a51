import { expect, snap, test } from './support/berth.js';

test.describe('the System page', () => {
  test('shows the machine, the backends with install hints, and a helpful empty-GPU state', async ({
    page,
    berth,
  }) => {
    const report = await berth.api<{
      gpus: unknown[];
      backends: Array<{ name: string; installed: boolean }>;
    }>('GET', '/api/system');
    await page.goto(berth.uiUrl);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'System' }).click();
    await expect(page.getByRole('heading', { name: 'System', level: 1 })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Backends' })).toBeVisible();
    await expect(page.getByText('Built-in engine (llama.cpp)')).toBeVisible();
    for (const b of report.backends.filter((x) => !x.installed)) {
      await expect(
        page
          .locator('.backend-row', {
            hasText: b.name === 'vllm' ? 'vLLM' : b.name === 'ollama' ? 'Ollama' : b.name,
          })
          .getByText('Install:'),
      ).toBeVisible();
    }
    if (report.gpus.length === 0) await expect(page.getByText('No GPU found')).toBeVisible();
    else await expect(page.locator('.gpu-card')).toHaveCount(report.gpus.length);
    await expect(page.getByRole('img', { name: /RAM: \d+% used/ })).toBeVisible();
    await snap(page, 'system');

    // "Detect again" runs a fresh detection
    await page.getByRole('button', { name: 'Detect again' }).click();
    await expect(page.getByRole('button', { name: 'Detect again' })).toBeEnabled();
  });
});
