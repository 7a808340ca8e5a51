import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_GGUF } from '../../engine/__fixtures__/fixtures.js';
import { survivors } from '../../servers/test-support/standin.js';
import { makeTestApi } from '../../test-support/core.js';
import { main } from '../main.js';
import type { CliIo } from '../output.js';

// `berth deploy` / `ls` / `stop` as a script uses them: the CLI talks to a running Berth (a real core and API
// here) through api.json and the token file in BERTH_HOME.
type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api;

function io(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = { out: (s) => void out.push(s), err: (s) => void err.push(s), isTty: tty };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

beforeAll(async () => {
  t = await makeTestApi();
  writeFileSync(t.core.paths.apiInfoFile, JSON.stringify({ url: t.api.url, pid: process.pid }));
});
afterAll(async () => {
  await t.dispose();
  expect(survivors()).toEqual([]);
});

describe('berth deploy', () => {
  it('--json: one JSON event per line while it runs, then the deploy response', async () => {
    const c = io();
    const code = await main(
      ['deploy', TINY_GGUF, '--server', 'llamacpp', '--name', 'cli-tiny', '--json'],
      c.io,
      {
        BERTH_HOME: t.home,
      },
    );
    expect(code, c.err()).toBe(0);
    const lines = c
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      lines.some((e) => e.type === 'deployment.stage' && e.stage === 'healthy' && e.state === 'done'),
    ).toBe(true);
    const result = lines.at(-1);
    expect(result).toMatchObject({
      success: true,
      status: 'running',
      model_name: 'cli-tiny',
      server_type: 'llamacpp',
    });
  });

  it('on a terminal: stage lines and the address, readable', async () => {
    const c = io(true);
    const code = await main(['deploy', TINY_GGUF, '--server', 'llamacpp', '--name', 'cli-tty'], c.io, {
      BERTH_HOME: t.home,
    });
    expect(code, c.err()).toBe(0);
    expect(c.err()).toContain('• start: started');
    expect(c.out()).toMatch(/✓ running: http:\/\/127\.0\.0\.1:\d+\/v1 \(model "cli-tty"\)/);
  });

  it('--measure-quality reaches the deploy: a GGUF file has no F16 to compare with, and the stage line says so', async () => {
    const c = io(true);
    const code = await main(
      ['deploy', TINY_GGUF, '--server', 'llamacpp', '--name', 'cli-q', '--measure-quality'],
      c.io,
      { BERTH_HOME: t.home },
    );
    expect(code, c.err()).toBe(0);
    expect(c.err()).toContain('• quality: skipped — a GGUF file has no F16 here to compare with');
    expect(c.err()).toContain('quality: not measured:'); // the log line, only when it was asked for
    expect(await main(['stop', 'cli-q'], io().io, { BERTH_HOME: t.home })).toBe(0);
    const both = io();
    expect(
      await main(
        ['deploy', TINY_GGUF, '--server', 'llamacpp', '--measure-quality', '--no-measure-quality'],
        both.io,
        { BERTH_HOME: t.home },
      ),
    ).toBe(1);
    expect(both.err()).toContain('INVALID_REQUEST');
  });

  it('a failed deploy exits 1 with the error code and hint', async () => {
    const c = io();
    const code = await main(['deploy', TINY_GGUF, '--server', 'llamacpp', '--name', 'cli-tiny'], c.io, {
      BERTH_HOME: t.home,
    });
    expect(code).toBe(1);
    expect(c.err()).toContain('NAME_CONFLICT');
  });

  it('--base gives a LoRA adapter its base: checked against the adapter before any work', async () => {
    const fixtures = join(import.meta.dirname, '..', '..', 'checkpoints', '__fixtures__');
    const adapter = join(fixtures, 'lora-missing-base');
    const without = io();
    expect(await main(['deploy', adapter, '--server', 'llamacpp'], without.io, { BERTH_HOME: t.home })).toBe(
      1,
    );
    expect(without.err()).toContain('ADAPTER_BASE_MISSING');
    expect(without.err()).toContain('--base <path>');
    const wrong = io();
    const code = await main(
      ['deploy', adapter, '--server', 'llamacpp', '--base', join(fixtures, 'tiny-mistral-f32')],
      wrong.io,
      { BERTH_HOME: t.home },
    );
    expect(code).toBe(1);
    expect(wrong.err()).toContain('ADAPTER_BASE_MISMATCH');
    expect(wrong.err()).toContain('[8, 16] in the adapter');
  });

  it('ls and stop find servers by name', async () => {
    const ls = io();
    expect(await main(['ls', '--json'], ls.io, { BERTH_HOME: t.home })).toBe(0);
    const names = (JSON.parse(ls.out()) as Array<{ name: string; status: string }>).map(
      (s) => `${s.name}:${s.status}`,
    );
    expect(names).toEqual(expect.arrayContaining(['cli-tiny:running', 'cli-tty:running']));
    for (const name of ['cli-tiny', 'cli-tty']) {
      const stop = io();
      expect(await main(['stop', name], stop.io, { BERTH_HOME: t.home }), stop.err()).toBe(0);
    }
  });

  it('says clearly when no Berth is running', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'berth-cli-none-'));
    try {
      const c = io();
      expect(await main(['deploy', TINY_GGUF, '--server', 'llamacpp'], c.io, { BERTH_HOME: empty })).toBe(1);
      expect(c.err()).toContain('BERTH_NOT_RUNNING');
      expect(c.err()).toContain('berth serve');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
