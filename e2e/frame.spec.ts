import { expect, snap, test } from './support/berth.js';

test.describe('the app frame in headless mode', () => {
  test('opens with the token from the URL and navigates every section', async ({ page, berth }) => {
    await page.goto(berth.uiUrl);
    // The token leaves the address bar at once (it lives in this tab's session storage).
    await expect(page).toHaveURL(/#\/checkpoints$/);
    await expect(page.getByRole('heading', { name: 'Checkpoints', level: 1 })).toBeVisible();
    await expect(page.getByText('Drop a training output folder here')).toBeVisible();
    await snap(page, 'frame-checkpoints');

    for (const [label, heading] of [
      ['Servers', 'Servers'],
      ['System', 'System'],
      ['Settings', 'Settings'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: label }).click();
      await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
      await expect(page).toHaveURL(new RegExp(`#/${label.toLowerCase()}$`));
      await snap(page, `frame-${label.toLowerCase()}`);
    }
    await expect(page.getByText(berth.home)).toBeVisible();
  });

  test('new users see what to do on an empty Servers page', async ({ page, berth }) => {
    await page.goto(berth.uiUrl);
    await page.getByRole('link', { name: 'Servers' }).click();
    await expect(page.getByText('No servers yet')).toBeVisible();
    await page.getByRole('button', { name: 'Pick a checkpoint to deploy' }).click();
    await expect(page.getByRole('heading', { name: 'Checkpoints', level: 1 })).toBeVisible();
  });

  test('settings changed in the window persist in the core', async ({ page, berth }) => {
    await page.goto(berth.uiUrl);
    await page.getByRole('link', { name: 'Settings' }).click();
    const keep = page.getByLabel('Keep servers running after Berth quits');
    await keep.check();
    await expect
      .poll(
        async () =>
          (await berth.api<{ keep_servers_on_quit: boolean }>('GET', '/api/settings')).keep_servers_on_quit,
      )
      .toBe(true);
  });

  test('a program named by a script waits for the user; one typed in the window applies at once', async ({
    page,
    berth,
  }) => {
    await page.goto(berth.uiUrl);
    await expect(page.getByRole('heading', { name: 'Checkpoints', level: 1 })).toBeVisible();
    // A script (or anything holding the token) names a program: the window says so, nothing runs it yet.
    await berth.api('PATCH', '/api/settings', { ollama: { binary: process.execPath } });
    const banner = page.getByRole('alert', { name: 'Program settings to review' });
    await page.getByRole('link', { name: 'Settings' }).click();
    await expect(banner).toContainText('Ollama binary changed');
    await expect(banner).toContainText(process.execPath);
    await snap(page, 'settings-pending-program');
    await banner.getByRole('button', { name: 'Use it' }).click();
    await expect(banner).toHaveCount(0);
    expect((await berth.api<{ ollama: { binary?: string } }>('GET', '/api/settings')).ollama.binary).toBe(
      process.execPath,
    );
    // The user types a program in Settings: they have seen it, so it takes effect without a banner.
    const field = page.getByLabel('Python with vLLM');
    await field.fill(process.execPath);
    await field.blur();
    await expect
      .poll(async () => (await berth.api<{ python: { vllm?: string } }>('GET', '/api/settings')).python.vllm)
      .toBe(process.execPath);
    await expect(banner).toHaveCount(0);
  });

  test('Settings shows the converter status and a token that can be replaced without breaking the window', async ({
    page,
    berth,
  }) => {
    await page.goto(berth.uiUrl);
    await page.getByRole('link', { name: 'Settings' }).click();
    await expect(page.getByRole('group', { name: 'Python' })).toContainText('ready');
    const tokenGroup = page.getByRole('group', { name: 'API token' });
    await tokenGroup.getByRole('button', { name: 'Show' }).click();
    await expect(tokenGroup).toContainText(berth.token);
    await tokenGroup.getByRole('button', { name: 'Regenerate…' }).click();
    await tokenGroup.getByRole('button', { name: 'Regenerate', exact: true }).click();
    await expect(tokenGroup).not.toContainText(berth.token);
    const fresh = (await tokenGroup.locator('code').first().textContent())?.trim() ?? '';
    expect(fresh.length).toBeGreaterThan(30);
    // The old token is refused now; the window keeps working with the new one.
    const old = await fetch(`${berth.url}/api/app`, { headers: { authorization: `Bearer ${berth.token}` } });
    expect(old.status).toBe(401);
    await page.getByRole('link', { name: 'Servers' }).click();
    await expect(page.getByText('No servers yet')).toBeVisible();
    berth.token = fresh;
    await snap(page, 'frame-settings-token');
  });

  test('follows the dark colour scheme', async ({ browser, berth }) => {
    const context = await browser.newContext({ colorScheme: 'dark' });
    const page = await context.newPage();
    await page.goto(berth.uiUrl);
    await expect(page.getByRole('heading', { name: 'Checkpoints', level: 1 })).toBeVisible();
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(bg).toBe('rgb(15, 18, 22)');
    await snap(page, 'frame-dark');
    await context.close();
  });

  test('without a token the page says how to get one', async ({ browser, berth }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(berth.url);
    await expect(page.getByText('No API token')).toBeVisible();
    await context.close();
  });
});
