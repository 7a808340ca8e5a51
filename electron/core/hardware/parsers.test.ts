import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  attachProcesses,
  computeCapabilityForName,
  NVIDIA_GPU_FIELDS,
  parseNvidiaComputeApps,
  parseNvidiaQueryGpu,
  parseNvidiaSmiXml,
} from './nvidia.js';
import { parseRocmSmiJson } from './rocm.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '__fixtures__', name), 'utf8');
const MIB = 1024 * 1024;

/** One section of an nvidia_gpu_exporter capture, e.g. "idle :: query-gpu". */
function section(file: string, title: string): string {
  const lines = fixture(file).split('\n');
  const start = lines.findIndex((l) => l.startsWith(`# ${title}`));
  if (start < 0) throw new Error(`no section ${title} in ${file}`);
  const body: string[] = [];
  for (const line of lines.slice(start + 3)) {
    if (line.startsWith('####')) break;
    body.push(line);
  }
  return body.join('\n');
}

const H100 = 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt';
const RTX4080 = 'linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.txt';

describe('nvidia-smi --query-gpu (real captures, header with units)', () => {
  it.each([
    [H100, 'idle', 'NVIDIA H100 80GB HBM3', 81559, 0, 81081, '9.0', '590.48.01'],
    [RTX4080, 'idle', 'NVIDIA GeForce RTX 4080 SUPER', 16376, undefined, undefined, '8.9', '595.71.05'],
  ])('%s %s', (file, phase, name, totalMiB, usedMiB, freeMiB, cc, driver) => {
    const { items, warnings } = parseNvidiaQueryGpu(section(file, `${phase} :: query-gpu`));
    expect(warnings).toEqual([]);
    expect(items).toHaveLength(1);
    const gpu = items[0]!;
    expect(gpu).toMatchObject({ index: 0, vendor: 'nvidia', name, compute_capability: cc, driver });
    expect(gpu.memory_total_bytes).toBe(totalMiB * MIB);
    if (usedMiB !== undefined) expect(gpu.memory_used_bytes).toBe(usedMiB * MIB);
    if (freeMiB !== undefined) expect(gpu.memory_free_bytes).toBe(freeMiB * MIB);
    // used + free + reserved = total: the parser must not mix the columns up
    expect((gpu.memory_used_bytes ?? 0) + (gpu.memory_free_bytes ?? 0)).toBeLessThanOrEqual(
      gpu.memory_total_bytes,
    );
  });

  it('the H100 under load: used memory matches the processes holding it', () => {
    const gpus = parseNvidiaQueryGpu(section(H100, 'load :: query-gpu')).items;
    const apps = parseNvidiaComputeApps(section(H100, 'load :: query-compute-apps'));
    expect(apps.warnings).toEqual([]);
    expect(apps.items.map((a) => [a.pid, a.used_bytes / MIB, a.name])).toEqual([
      [11327, 2566, '/root/tools/memhog'],
      [11328, 1542, '/root/tools/memhog'],
      [11345, 15690, './gpu_burn'],
    ]);
    const [gpu] = attachProcesses(gpus, apps.items);
    expect(gpu?.processes).toHaveLength(3);
    const held = (gpu?.processes ?? []).reduce((s, p) => s + p.used_bytes, 0);
    // 2566 + 1542 + 15690 = 19798 MiB held by processes; nvidia-smi's used figure includes them
    expect(held).toBe(19798 * MIB);
    expect(gpu?.memory_used_bytes).toBeGreaterThanOrEqual(held);
  });

  it('columns come from the header, whatever their order; a row without memory.total is not a GPU', () => {
    // this capture asked for other fields (index last, memory.used only): nothing may be read as the total
    const { items, warnings } = parseNvidiaQueryGpu(fixture('query-two-gpus.csv.txt'));
    expect(items).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('NVIDIA GeForce RTX 2080 SUPER');
  });

  it('noheader,nounits output in the field order Berth asks for', () => {
    const text = [
      '0, NVIDIA GeForce RTX 3060, GPU-d6889ff6, 12288, 116, 11806, 570.124.04, 8.6, [N/A]',
      '1, NVIDIA A100-SXM4-80GB, GPU-513536b6, 81920, 0, 81050, 535.54.03, 8.0, Enabled',
    ].join('\n');
    const { items } = parseNvidiaQueryGpu(text, NVIDIA_GPU_FIELDS);
    expect(items[0]).toMatchObject({ memory_free_bytes: 11806 * MIB, compute_capability: '8.6' });
    expect(items[0]?.mig_enabled).toBeUndefined();
    expect(items[1]).toMatchObject({ mig_enabled: true, uuid: 'GPU-513536b6' });
  });

  it('garbage becomes warnings, not GPUs', () => {
    const { items, warnings } = parseNvidiaQueryGpu(
      '\u0000\u0001 segmentation fault (core dumped)\nlol, what',
    );
    expect(items).toEqual([]);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toContain('could not read');
  });
});

describe('nvidia-smi -q -x (real captures)', () => {
  it.each([
    ['rtx-3060-v12.xml', 1, 'NVIDIA GeForce RTX 3060', 12288, 11806, '8.6', '12.8'],
    ['tesla-t4.xml', 1, 'Tesla T4', 15360, 13939, '7.5', '11.7'],
    ['dual_2070-v13.xml', 2, 'NVIDIA GeForce RTX 2070', 8192, 7786, '7.5', '13.1'],
    // driver 418 names the card "Graphics Device" and reports no architecture: compute capability unknown
    ['gtx-1660-ti.xml', 1, 'Graphics Device', 5912, 5912, undefined, '10.1'],
  ])('%s', (file, count, name, totalMiB, freeMiB, cc, cuda) => {
    const { items, warnings } = parseNvidiaSmiXml(fixture(file));
    expect(warnings).toEqual([]);
    expect(items).toHaveLength(count);
    for (const gpu of items) {
      expect(gpu).toMatchObject({
        name,
        memory_total_bytes: totalMiB * MIB,
        memory_free_bytes: freeMiB * MIB,
      });
      expect(gpu.compute_capability).toBe(cc);
      expect(gpu.cuda_version).toBe(cuda);
    }
    expect(items.map((g) => g.index)).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('the T4 lists the processes that hold its memory', () => {
    const [t4] = parseNvidiaSmiXml(fixture('tesla-t4.xml')).items;
    expect(t4?.processes?.map((p) => [p.pid, p.used_bytes / MIB, p.name])).toEqual([
      [675, 22, '/usr/lib/xorg/Xorg'],
      [5762, 1005, 'python'],
    ]);
  });

  it('an A100 in MIG mode: the slices become devices of their own', () => {
    const { items } = parseNvidiaSmiXml(fixture('a100-sxm4-v12.xml'));
    const parents = items.filter((g) => !g.mig);
    const slices = items.filter((g) => g.mig);
    // the capture holds one A100 80GB (minor number 1) cut into four 20 GB slices
    expect(parents).toHaveLength(1);
    expect(parents[0]).toMatchObject({
      index: 1,
      name: 'NVIDIA A100-SXM4-80GB',
      compute_capability: '8.0',
      mig_enabled: true,
      memory_total_bytes: 81920 * MIB,
    });
    expect(slices).toHaveLength(4);
    for (const slice of slices) {
      expect(slice).toMatchObject({ memory_total_bytes: 19968 * MIB, memory_free_bytes: 19955 * MIB });
      expect(slice.mig?.parent_index).toBe(1);
    }
    // indices stay unique across physical GPUs and slices
    expect(new Set(items.map((g) => g.index)).size).toBe(items.length);
  });
});

describe('compute capability fallback by name', () => {
  it.each([
    ['NVIDIA GeForce RTX 4080 SUPER', '8.9'],
    ['NVIDIA H100 80GB HBM3', '9.0'],
    ['NVIDIA A100-SXM4-80GB', '8.0'],
    ['NVIDIA GeForce RTX 3060', '8.6'],
    ['Tesla T4', '7.5'],
    ['NVIDIA GeForce GTX 1660 Ti', '7.5'],
    ['Tesla V100-SXM2-16GB', '7.0'],
    ['NVIDIA GeForce GTX 1080 Ti', '6.1'],
    ['Graphics Device', undefined],
  ])('%s -> %s', (name, cc) => expect(computeCapabilityForName(name)).toBe(cc));
});

describe('rocm-smi --json (real captures)', () => {
  it('RX 6700 XT (ROCm 6.1: "Device Name")', () => {
    const { items, warnings } = parseRocmSmiJson(fixture('rx6700xt_rocm612.json'));
    expect(warnings).toEqual([]);
    expect(items).toEqual([
      expect.objectContaining({
        index: 0,
        vendor: 'amd',
        name: 'Navi 22 [Radeon RX 6700/6700 XT / 6800M]',
        memory_total_bytes: 12868124672,
        memory_used_bytes: 1572745216,
        // 12868124672 - 1572745216
        memory_free_bytes: 11295379456,
        gfx_version: 'gfx1031',
        driver: '6.3.6',
      }),
    ]);
  });

  it('four MI100 (ROCm 6.0: only "Card series")', () => {
    const { items } = parseRocmSmiJson(fixture('mi100_rocm602.json'));
    expect(items.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(items[0]).toMatchObject({
      name: 'Arcturus GL-XL [Instinct MI100]',
      memory_total_bytes: 34342961152,
    });
  });

  it('garbage and wrong shapes become warnings', () => {
    expect(parseRocmSmiJson('WARNING: AMD GPU device(s) is/are in a low-power state').warnings[0]).toContain(
      'could not read',
    );
    expect(parseRocmSmiJson('[]').items).toEqual([]);
    expect(parseRocmSmiJson('{"system": {}}').warnings).toEqual(['rocm-smi listed no GPU']);
  });
});
