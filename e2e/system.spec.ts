import { findRealVllm } from '../electron/core/servers/test-support/real-vllm.js';
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

  test('the real vLLM as Settings > Python for vLLM: its version, package and device, no install hint', async ({
    page,
    berth,
  }) => {
    test.setTimeout(180_000);
    const real = findRealVllm(); // `npm run setup:vllm`'s venv, or BERTH_VLLM_PYTHON
    test.skip('skip' in real, 'skip' in real ? real.skip : '');
    if ('skip' in real) return;
    await berth.api('PATCH', '/api/settings', { python: { vllm: real.python } });
    try {
      await page.goto(berth.uiUrl);
      // a program named over the API waits for the user's review
      await page
        .getByRole('alert', { name: 'Program settings to review' })
        .getByRole('button', { name: 'Use it' })
        .click();
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'System' }).click();
      await page.getByRole('button', { name: 'Detect again' }).click();
      const row = page.locator('.backend-row', { hasText: 'vLLM' });
      await expect(row.getByText(real.version, { exact: true })).toBeVisible({ timeout: 120_000 });
      await expect(row.getByText(/Serves on: (CPU \(the CPU build\)|CUDA GPU)/)).toBeVisible();
      await expect(row.getByText(real.python, { exact: false })).toBeVisible();
      await expect(row.getByText('Install:')).toHaveCount(0);
      await snap(page, 'system-real-vllm');
    } finally {
      await berth.api('PATCH', '/api/settings', { python: { vllm: null } });
    }
  });
});
