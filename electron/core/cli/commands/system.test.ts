import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecommendationSchema, SystemReportSchema } from '../../../../shared/system.js';
import { appRoot } from '../../version.js';
import { main } from '../main.js';

const model = join(appRoot(), 'electron/core/checkpoints/__fixtures__/tiny-llama-bf16');
let home: string;
afterEach(() => rmSync(home, { recursive: true, force: true }));

async function run(argv: string[]) {
  home = mkdtempSync(join(tmpdir(), 'berth-cli-system-'));
  let out = '';
  let err = '';
  const code = await main(
    argv,
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      isTty: false,
    },
    {
      ...process.env,
      BERTH_HOME: home,
    },
  );
  return { code, out, err };
}

describe('berth system / berth recommend', () => {
  it('system --json prints a valid report; without --json, tables', async () => {
    const json = await run(['system', '--json']);
    expect(json.code).toBe(0);
    SystemReportSchema.parse(JSON.parse(json.out));
    const text = await run(['system']);
    expect(text.out).toMatch(/backend\s+installed\s+version/);
    expect(text.out).toContain('llamacpp');
  });

  it('recommend --context --json answers for a real model folder; bad flags are refused', async () => {
    const r = await run(['recommend', model, '--context', '128', '--json']);
    expect(r.code).toBe(0);
    const rec = RecommendationSchema.parse(JSON.parse(r.out));
    expect(rec.context_length).toBe(128);
    const text = await run(['recommend', model]);
    expect(text.out).toContain('Pick: ');
    expect(text.out).toMatch(/weights\s+kv cache\s+overhead/);
    const bad = await run(['recommend', model, '--context', 'lots', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).error.code).toBe('INVALID_REQUEST');
    expect((await run(['recommend'])).code).toBe(2);
  });
});
