import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApi } from '../test-support/core.js';
import { TRAINER_RUN, VENV_PYTHON } from './test-support.js';

// Not enough disk for the GGUF: Berth's data folder on a 4 MiB tmpfs. The converter's disk check refuses
// before writing, and the deploy answers 507 with nothing left in the cache.
const mnt = mkdtempSync(join(tmpdir(), 'berth-small-disk-'));
const mounted =
  existsSync(VENV_PYTHON) &&
  spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' }).status === 0;
type Api = Awaited<ReturnType<typeof makeTestApi>>;
let t: Api | undefined;

describe.skipIf(!mounted)(
  'deploy onto a full disk (needs root to mount a tmpfs, and the converter venv)',
  () => {
    beforeAll(async () => {
      const home = join(mnt, 'home');
      mkdirSync(home);
      t = await makeTestApi({ home });
    });
    afterAll(async () => {
      await t?.api.close();
      await t?.core.close();
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });

    it('507 INSUFFICIENT_DISK with a hint, and no partial GGUF left', async () => {
      const res = await t!.call('POST', '/api/training/deploy', {
        model_path: TRAINER_RUN,
        server_type: 'llamacpp',
        name: 'no-room',
        config: { quantization: 'F16' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(507);
      expect(res.body.error.code).toBe('INSUFFICIENT_DISK');
      expect(res.body.error.hint).toBeTruthy();
      const cache = t!.core.paths.ggufCacheDir;
      expect(
        existsSync(cache)
          ? readdirSync(cache).filter((f) => f.endsWith('.gguf') || f.endsWith('.partial'))
          : [],
      ).toEqual([]);
    });
  },
);

if (!mounted) rmSync(mnt, { recursive: true, force: true });
