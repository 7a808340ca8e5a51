import type { Gpu, GpuProcess } from '../../../shared/system.js';

/** The fields Berth asks `nvidia-smi --query-gpu` for, in order (drivers since 510 know all of them). */
export const NVIDIA_GPU_FIELDS = [
  'index',
  'name',
  'uuid',
  'memory.total',
  'memory.used',
  'memory.free',
  'driver_version',
  'compute_cap',
  'mig.mode.current',
] as const;
/** The fields drivers older than 510 know (no compute_cap, no MIG mode); the fallback query. */
export const NVIDIA_GPU_FIELDS_LEGACY = NVIDIA_GPU_FIELDS.slice(0, 7);
export const NVIDIA_APP_FIELDS = ['pid', 'used_memory', 'gpu_uuid', 'process_name'] as const;

const MIB = 1024 * 1024;

/** What a parser found, and what it could not read (each a warning for the report). */
export interface Parsed<T> {
  items: T[];
  warnings: string[];
}

/**
 * Parses `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]`. With a header line the columns are
 * taken from it (so captures with more fields or with units work too); without one, from `fields`.
 */
export function parseNvidiaQueryGpu(
  text: string,
  fields: readonly string[] = NVIDIA_GPU_FIELDS,
): Parsed<Gpu> {
  const table = readCsv(text, fields, 'memory.total');
  const items: Gpu[] = [];
  const warnings = [...table.warnings];
  for (const row of table.rows) {
    const index = intOrUndefined(row.index);
    const total = numberOrUndefined(row['memory.total']);
    if (index === undefined || total === undefined || !row.name) {
      const missing = total === undefined ? ' (no memory.total)' : '';
      warnings.push(`nvidia-smi printed a line Berth could not read${missing}: "${clip(row._line ?? '')}"`);
      continue;
    }
    const used = numberOrUndefined(row['memory.used']);
    const free = numberOrUndefined(row['memory.free']);
    const cc = present(row.compute_cap) ?? computeCapabilityForName(row.name);
    items.push({
      index,
      vendor: 'nvidia',
      name: row.name,
      memory_total_bytes: total * MIB,
      ...(used !== undefined ? { memory_used_bytes: used * MIB } : {}),
      ...(free !== undefined ? { memory_free_bytes: free * MIB } : {}),
      ...(present(row.uuid) ? { uuid: row.uuid } : {}),
      ...(present(row.driver_version) ? { driver: row.driver_version } : {}),
      ...(cc ? { compute_capability: cc } : {}),
      ...(row['mig.mode.current'] === 'Enabled' ? { mig_enabled: true } : {}),
      source: 'nvidia-smi',
    });
  }
  if (items.length === 0 && table.rows.length === 0 && text.trim() && warnings.length === 0)
    warnings.push(`nvidia-smi printed something Berth could not read: "${clip(text)}"`);
  return { items, warnings };
}

/** A process holding VRAM, keyed to its GPU by uuid. */
export interface NvidiaApp extends GpuProcess {
  gpu_uuid: string;
}

/** Parses `nvidia-smi --query-compute-apps=pid,used_memory,gpu_uuid[,process_name] --format=csv,...`. */
export function parseNvidiaComputeApps(
  text: string,
  fields: readonly string[] = NVIDIA_APP_FIELDS,
): Parsed<NvidiaApp> {
  const table = readCsv(text, fields, 'pid');
  const items: NvidiaApp[] = [];
  const warnings = [...table.warnings];
  for (const row of table.rows) {
    const pid = intOrUndefined(row.pid);
    const used = numberOrUndefined(row.used_memory ?? row.used_gpu_memory);
    if (pid === undefined || !row.gpu_uuid) {
      warnings.push(`nvidia-smi printed a process line Berth could not read: "${clip(row._line ?? '')}"`);
      continue;
    }
    items.push({
      pid,
      used_bytes: (used ?? 0) * MIB,
      gpu_uuid: row.gpu_uuid,
      ...(present(row.process_name) ? { name: row.process_name } : {}),
    });
  }
  return { items, warnings };
}

/** Attaches each process to the GPU it runs on. */
export function attachProcesses(gpus: Gpu[], apps: NvidiaApp[]): Gpu[] {
  return gpus.map((gpu) => {
    const mine = apps.filter((a) => a.gpu_uuid === gpu.uuid).map(({ gpu_uuid: _u, ...p }) => p);
    return mine.length > 0 ? { ...gpu, processes: mine } : gpu;
  });
}

/**
 * Parses `nvidia-smi -q -x`. Berth runs it only when a GPU is in MIG mode (the CSV query does not list
 * slices); each MIG slice becomes its own entry, indexed after the physical GPUs.
 */
export function parseNvidiaSmiXml(xml: string): Parsed<Gpu> {
  const driver = tagText(xml, 'driver_version');
  const cuda = tagText(xml, 'cuda_version');
  const blocks = [...xml.matchAll(/<gpu id="[^"]*">([\s\S]*?)<\/gpu>/g)].map((m) => m[1] ?? '');
  const items: Gpu[] = [];
  const slices: Gpu[] = [];
  const warnings: string[] = [];
  if (blocks.length === 0 && xml.trim()) warnings.push('nvidia-smi -q -x listed no GPU');
  blocks.forEach((block, position) => {
    const migBlock = /<mig_devices>([\s\S]*?)<\/mig_devices>/.exec(block)?.[1] ?? '';
    const own = block.replace(/<mig_devices>[\s\S]*?<\/mig_devices>/, '');
    const name = tagText(own, 'product_name') ?? 'NVIDIA GPU';
    const index = intOrUndefined(tagText(own, 'minor_number')) ?? position;
    const fb = memoryUsage(own);
    if (!fb) {
      warnings.push(`nvidia-smi -q -x: no memory figures for ${name}`);
      return;
    }
    const cc = computeCapabilityForName(name, tagText(own, 'product_architecture'));
    const processes = [...own.matchAll(/<process_info>([\s\S]*?)<\/process_info>/g)].flatMap((m) => {
      const body = m[1] ?? '';
      const pid = intOrUndefined(tagText(body, 'pid'));
      if (pid === undefined) return [];
      const used = numberOrUndefined(stripUnit(tagText(body, 'used_memory')));
      const pname = tagText(body, 'process_name');
      return [{ pid, used_bytes: (used ?? 0) * MIB, ...(pname ? { name: pname } : {}) }];
    });
    const migEnabled = tagText(own, 'current_mig') === 'Enabled';
    const uuid = tagText(own, 'uuid');
    items.push({
      index,
      vendor: 'nvidia',
      name,
      memory_total_bytes: fb.total * MIB,
      memory_used_bytes: fb.used * MIB,
      memory_free_bytes: fb.free * MIB,
      ...(uuid ? { uuid } : {}),
      ...(driver ? { driver } : {}),
      ...(cuda ? { cuda_version: cuda } : {}),
      ...(cc ? { compute_capability: cc } : {}),
      ...(migEnabled ? { mig_enabled: true } : {}),
      ...(processes.length > 0 ? { processes } : {}),
      source: 'nvidia-smi',
    });
    if (!migEnabled) return;
    for (const m of migBlock.matchAll(/<mig_device>([\s\S]*?)<\/mig_device>/g)) {
      const body = m[1] ?? '';
      const sfb = memoryUsage(body);
      if (!sfb) continue;
      const gi = intOrUndefined(tagText(body, 'gpu_instance_id'));
      const ci = intOrUndefined(tagText(body, 'compute_instance_id'));
      const sliceIndex = intOrUndefined(tagText(body, 'index')) ?? 0;
      slices.push({
        index: -1,
        vendor: 'nvidia',
        name: `${name} MIG ${Math.round(sfb.total / 1024)}GB slice ${sliceIndex}`,
        memory_total_bytes: sfb.total * MIB,
        memory_used_bytes: sfb.used * MIB,
        memory_free_bytes: sfb.free * MIB,
        ...(driver ? { driver } : {}),
        ...(cuda ? { cuda_version: cuda } : {}),
        ...(cc ? { compute_capability: cc } : {}),
        mig: {
          parent_index: index,
          ...(gi !== undefined ? { gpu_instance_id: gi } : {}),
          ...(ci !== undefined ? { compute_instance_id: ci } : {}),
        },
        source: 'nvidia-smi',
      });
    }
  });
  const firstSlice = items.reduce((max, g) => Math.max(max, g.index + 1), 0);
  slices.forEach((s, i) => {
    s.index = firstSlice + i;
  });
  return { items: [...items, ...slices], warnings };
}

/** The CUDA version from `nvidia-smi`'s banner ("CUDA Version: 12.8"), when the caller has it. */
export function parseCudaVersion(banner: string): string | undefined {
  return /CUDA Version\s*:\s*([\d.]+)/.exec(banner)?.[1];
}

/**
 * Compute capability from the product name (or architecture) for drivers that cannot report it
 * (compute_cap arrived in the 510 driver, and `-q -x` never lists it). Undefined when unknown.
 */
export function computeCapabilityForName(name: string, architecture?: string): string | undefined {
  const n = name.toUpperCase();
  const table: Array<[RegExp, string]> = [
    [/\bRTX 50\d0|\bB200\b|\bGB200\b/, n.includes('RTX') ? '12.0' : '10.0'],
    [/\bH100\b|\bH200\b|\bH800\b|\bGH200\b/, '9.0'],
    [/\bRTX 40\d0|\bL4\b|\bL40S?\b|RTX \d+ ADA/, '8.9'],
    [/\bA100\b|\bA800\b|\bA30\b/, '8.0'],
    [/\bRTX 30\d0|\bA10G?\b|\bA40\b|\bA16\b|\bA2\b|RTX A\d{4}/, '8.6'],
    [/\bRTX 20\d0|\bGTX 16\d0|\bT4\b|\bTITAN RTX|QUADRO RTX/, '7.5'],
    [/\bV100\b|\bTITAN V\b/, '7.0'],
    [/\bGTX 10\d0|\bP40\b|\bP4\b|\bTITAN XP?\b/, '6.1'],
    [/\bP100\b/, '6.0'],
  ];
  for (const [pattern, cc] of table) if (pattern.test(n)) return cc;
  const byArch: Record<string, string> = {
    Hopper: '9.0',
    'Ada Lovelace': '8.9',
    Turing: '7.5',
    Volta: '7.0',
    Pascal: '6.1',
  };
  return architecture ? byArch[architecture] : undefined;
}

interface CsvTable {
  rows: Array<Record<string, string | undefined> & { _line?: string }>;
  warnings: string[];
}

/** nvidia-smi's CSV: ", "-separated, never quoted; "[N/A]" style cells; optional header and units. */
const HEADER_NAMES = new Set(['index', 'name', 'uuid', 'pid', 'gpu_uuid', 'memory.total', 'memory.used']);

function readCsv(text: string, fields: readonly string[], headerMarker: string): CsvTable {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const warnings: string[] = [];
  let columns = [...fields];
  const first = (lines[0] ?? '').split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
  if (first.includes(headerMarker) || first.some((c) => HEADER_NAMES.has(c))) {
    columns = (lines.shift() ?? '').split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
  }
  const rows: CsvTable['rows'] = [];
  for (const line of lines) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== columns.length) {
      warnings.push(`nvidia-smi printed a line Berth could not read: "${clip(line)}"`);
      continue;
    }
    const row: CsvTable['rows'][number] = { _line: line };
    columns.forEach((c, i) => {
      row[c] = stripUnit(cells[i]);
    });
    rows.push(row);
  }
  return { rows, warnings };
}

function memoryUsage(block: string): { total: number; used: number; free: number } | undefined {
  const fb = /<fb_memory_usage>([\s\S]*?)<\/fb_memory_usage>/.exec(block)?.[1];
  if (!fb) return undefined;
  const total = numberOrUndefined(stripUnit(tagText(fb, 'total')));
  const used = numberOrUndefined(stripUnit(tagText(fb, 'used')));
  const free = numberOrUndefined(stripUnit(tagText(fb, 'free')));
  if (total === undefined) return undefined;
  return { total, used: used ?? 0, free: free ?? total - (used ?? 0) };
}

function tagText(xml: string, tag: string): string | undefined {
  const value = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]?.trim();
  return present(value);
}

function stripUnit(value: string | undefined): string | undefined {
  return value?.replace(/\s+(MiB|%|W|MHz|us)$/, '');
}

function present(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return v === '' || /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions)\]?$/i.test(v)
    ? undefined
    : v;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  const v = present(value);
  if (v === undefined || !/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  return Number(v);
}

function intOrUndefined(value: string | undefined): number | undefined {
  const n = numberOrUndefined(value);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

function clip(text: string): string {
  const one = text.trim().split('\n')[0] ?? '';
  return one.length > 80 ? `${one.slice(0, 77)}...` : one;
}
