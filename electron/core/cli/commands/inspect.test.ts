import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../checkpoints/test-fixtures.js';
import { main } from '../main.js';
import type { CliIo } from '../output.js';

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    isTty: false,
  };
  const code = await main(argv, io, { HOME: '/nonexistent-home' });
  return { code, out, err };
}

describe('berth inspect', () => {
  it('prints a table of the checkpoints without a running Berth', async () => {
    const r = await run(['inspect', join(FIXTURES, 'trainer-run')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/checkpoint-12\s+12\s+hf-model/);
    expect(r.out).toContain('best');
  });

  it('--json prints the inspection', async () => {
    const r = await run(['inspect', join(FIXTURES, 'tiny-qwen2-sharded'), '--json']);
    const json = JSON.parse(r.out);
    expect(json.checkpoints[0].architecture).toBe('Qwen2ForCausalLM');
  });

  it('exits 1 with the error code for bad input', async () => {
    const r = await run(['inspect', join(FIXTURES, 'does-not-exist'), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe('PATH_NOT_FOUND');
    const broken = await run(['inspect', join(FIXTURES, 'lora-missing-base')]);
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('ADAPTER_BASE_MISSING');
  });
});
