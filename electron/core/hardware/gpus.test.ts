import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectNvidia, detectRocm } from './gpus.js';

const fixtures = join(import.meta.dirname, '__fixtures__');
const MIB = 1024 * 1024;
let bin: string;
let env: NodeJS.ProcessEnv;

/** Writes a fake tool (a tiny shell script) into the temp bin folder, first on PATH. */
function fakeTool(name: string, script: string): void {
  const path = join(bin, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
}

/** Running (not gone, not a zombie waiting for a container's init to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

beforeEach(() => {
  bin = mkdtempSync(join(tmpdir(), 'berth-fake-tools-'));
  env = { PATH: `${bin}:/usr/bin:/bin` };
});
afterEach(() => rmSync(bin, { recursive: true, force: true }));

describe('nvidia-smi as a child process', () => {
  it('a missing tool is no GPU and no warning', async () => {
    const r = await detectNvidia({ env: { PATH: bin }, timeoutMs: 2000, details: true });
    expect(r).toEqual({ gpus: [], warnings: [], answered: false });
  });

  it('a hung tool is killed at the timeout (with its children) and becomes a warning', async () => {
    const pidFile = join(bin, 'pids');
    fakeTool('nvidia-smi', `echo $$ >> ${pidFile}\nsleep 60 &\necho $! >> ${pidFile}\nwait`);
    const started = Date.now();
    const r = await detectNvidia({ env, timeoutMs: 300, details: false });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.gpus).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('did not answer in time');
    // neither the tool nor the sleep it started survives
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });

  it('a driver/library mismatch becomes a warning that says to reboot', async () => {
    fakeTool('nvidia-smi', 'echo "Failed to initialize NVML: Driver/library version mismatch"\nexit 9');
    const r = await detectNvidia({ env, timeoutMs: 2000, details: true });
    expect(r.gpus).toEqual([]);
    expect(r.answered).toBe(false);
    expect(r.warnings).toEqual([expect.stringMatching(/Driver\/library version mismatch.*reboot/)]);
  });

  it('garbage output becomes a warning, not a GPU', async () => {
    fakeTool('nvidia-smi', 'printf "\\001\\002 <html>502 Bad Gateway</html>\\n"');
    const r = await detectNvidia({ env, timeoutMs: 2000, details: true });
    expect(r.gpus).toEqual([]);
    expect(r.warnings.some((w) => w.includes('could not read'))).toBe(true);
  });

  it('reads GPUs, their processes and the CUDA version from a working tool', async () => {
    // the H100 capture's load figures, in the noheader,nounits form Berth asks for
    fakeTool(
      'nvidia-smi',
      `case "$1" in
  --query-gpu=*) echo "0, NVIDIA H100 80GB HBM3, GPU-00000000-0000-0000-0000-000000000000, 81559, 20296, 60784, 590.48.01, 9.0, Disabled" ;;
  --query-compute-apps=*) printf "11327, 2566, GPU-00000000-0000-0000-0000-000000000000, /root/tools/memhog\\n11345, 15690, GPU-00000000-0000-0000-0000-000000000000, ./gpu_burn\\n" ;;
  --version) printf "NVIDIA-SMI version  : 590.48.01\\nCUDA Version        : 13.1\\n" ;;
  *) exit 2 ;;
esac`,
    );
    const r = await detectNvidia({ env, timeoutMs: 2000, details: true });
    expect(r.warnings).toEqual([]);
    expect(r.gpus).toEqual([
      expect.objectContaining({
        name: 'NVIDIA H100 80GB HBM3',
        memory_free_bytes: 60784 * MIB,
        compute_capability: '9.0',
        cuda_version: '13.1',
        processes: [
          { pid: 11327, used_bytes: 2566 * MIB, name: '/root/tools/memhog' },
          { pid: 11345, used_bytes: 15690 * MIB, name: './gpu_burn' },
        ],
      }),
    ]);
  });

  it('an old driver that refuses compute_cap is asked again; compute capability comes from the name', async () => {
    fakeTool(
      'nvidia-smi',
      `case "$1" in
  *compute_cap*) echo 'Field "compute_cap" is not a valid field to query.'; exit 2 ;;
  --query-gpu=*) echo "0, Tesla T4, GPU-d37e67a5, 15360, 1032, 13939, 418.43" ;;
  *) exit 2 ;;
esac`,
    );
    const r = await detectNvidia({ env, timeoutMs: 2000 });
    expect(r.warnings).toEqual([]);
    expect(r.gpus[0]).toMatchObject({
      name: 'Tesla T4',
      compute_capability: '7.5',
      memory_free_bytes: 13939 * MIB,
    });
  });

  it('a GPU in MIG mode: the slices are read from -q -x', async () => {
    fakeTool(
      'nvidia-smi',
      `case "$1" in
  --query-gpu=*) echo "0, NVIDIA A100-SXM4-80GB, GPU-513536b6, 81920, 48, 80732, 535.54.03, 8.0, Enabled" ;;
  -q) cat ${join(fixtures, 'a100-sxm4-v12.xml')} ;;
  *) exit 2 ;;
esac`,
    );
    const r = await detectNvidia({ env, timeoutMs: 2000 });
    expect(r.warnings).toEqual([]);
    expect(
      r.gpus.map((g) => [g.index, g.mig_enabled ?? false, g.mig ? g.memory_total_bytes / MIB : null]),
    ).toEqual([
      [0, true, null],
      [1, false, 19968],
      [2, false, 19968],
      [3, false, 19968],
      [4, false, 19968],
    ]);
  });
});

describe('rocm-smi as a child process', () => {
  it('reads the real RX 6700 XT capture', async () => {
    fakeTool('rocm-smi', `cat ${join(fixtures, 'rx6700xt_rocm612.json')}`);
    const r = await detectRocm({ env, timeoutMs: 2000 });
    expect(r.gpus).toHaveLength(1);
    expect(r.gpus[0]).toMatchObject({ vendor: 'amd', memory_total_bytes: 12868124672 });
  });

  it('a failing rocm-smi becomes a warning', async () => {
    fakeTool('rocm-smi', 'echo "ERROR: GPU[0] : Unable to open /sys/class/kfd" >&2\nexit 1');
    const r = await detectRocm({ env, timeoutMs: 2000 });
    expect(r.gpus).toEqual([]);
    expect(r.warnings).toEqual([expect.stringContaining('rocm-smi failed: ERROR: GPU[0]')]);
  });
});
