import { z } from 'zod';
import type { Gpu } from '../../../shared/system.js';
import type { Parsed } from './nvidia.js';

const CardSchema = z.record(z.string(), z.unknown());

/**
 * Parses `rocm-smi --showmeminfo vram --showproductname --json` (or the full `--json` dump). Keys differ
 * between ROCm releases: 6.1 has "Device Name" and "Card Series", 6.0 only "Card series"; memory is
 * "VRAM Total Memory (B)" / "VRAM Total Used Memory (B)" as strings of bytes.
 */
export function parseRocmSmiJson(text: string): Parsed<Gpu> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { items: [], warnings: [`rocm-smi printed something Berth could not read: "${clip(text)}"`] };
  }
  const top = z.record(z.string(), z.unknown()).safeParse(data);
  if (!top.success) return { items: [], warnings: ['rocm-smi --json answered with an unexpected shape'] };
  const system = CardSchema.safeParse(top.data.system);
  const driver = system.success ? str(system.data['Driver version']) : undefined;
  const items: Gpu[] = [];
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(top.data)) {
    const m = /^card(\d+)$/.exec(key);
    if (!m) continue;
    const card = CardSchema.safeParse(value);
    if (!card.success) continue;
    const c = card.data;
    const total = bytes(c['VRAM Total Memory (B)']);
    if (total === undefined) {
      warnings.push(`rocm-smi: no VRAM total for ${key}`);
      continue;
    }
    const used = bytes(c['VRAM Total Used Memory (B)']);
    const name =
      str(c['Device Name']) ??
      str(c['Card Series']) ??
      str(c['Card series']) ??
      str(c['Card SKU']) ??
      'AMD GPU';
    const gfx = str(c['GFX Version']);
    const uuid = str(c['Unique ID']);
    items.push({
      index: Number(m[1]),
      vendor: 'amd',
      name,
      memory_total_bytes: total,
      ...(used !== undefined ? { memory_used_bytes: used, memory_free_bytes: total - used } : {}),
      ...(uuid ? { uuid } : {}),
      ...(driver ? { driver } : {}),
      ...(gfx ? { gfx_version: gfx } : {}),
      source: 'rocm-smi',
    });
  }
  if (items.length === 0 && warnings.length === 0) warnings.push('rocm-smi listed no GPU');
  return { items: items.sort((a, b) => a.index - b.index), warnings };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() && value !== 'N/A' ? value.trim() : undefined;
}

function bytes(value: unknown): number | undefined {
  const s = str(value);
  return s && /^\d+$/.test(s) ? Number(s) : undefined;
}

function clip(text: string): string {
  const one = text.trim().split('\n')[0] ?? '';
  return one.length > 80 ? `${one.slice(0, 77)}...` : one;
}
