import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ConversionCacheEntry, ConversionCacheEntrySchema } from '../../../shared/conversion.js';
import type { QualityReport } from '../../../shared/quality.js';
import { BerthError } from '../errors.js';
import { makePrivate, writePrivateFile } from '../private-fs.js';

const ID = /^[a-f0-9]{32}$/;

/** GGUFs converted before, one `<id>.gguf` with an `<id>.json` beside it, in Berth's data folder. */
export class ConversionCache {
  constructor(readonly dir: string) {}

  ggufPath(id: string): string {
    return join(this.dir, `${id}.gguf`);
  }

  /** The entry for `id` when both its GGUF and its metadata are there. */
  get(id: string): ConversionCacheEntry | undefined {
    const meta = join(this.dir, `${id}.json`);
    if (!existsSync(meta) || !existsSync(this.ggufPath(id))) return undefined;
    try {
      const parsed = ConversionCacheEntrySchema.safeParse(JSON.parse(readFileSync(meta, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined; // a half-written or foreign file is not a cache entry
    }
  }

  list(): ConversionCacheEntry[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => this.get(f.slice(0, -5)))
      .filter((e): e is ConversionCacheEntry => e !== undefined)
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  /** Records a finished conversion (its GGUF already renamed into place by the converter). */
  add(entry: Omit<ConversionCacheEntry, 'bytes' | 'gguf_path'>): ConversionCacheEntry {
    const gguf = this.ggufPath(entry.id);
    makePrivate(gguf); // written by the converter child, under its own umask
    const full = { ...entry, gguf_path: gguf, bytes: statSync(gguf).size };
    writePrivateFile(join(this.dir, `${entry.id}.json`), JSON.stringify(full, null, 2));
    return full;
  }

  /** The entry whose GGUF is `ggufPath`, if that file is in the cache. */
  byPath(ggufPath: string): ConversionCacheEntry | undefined {
    const name = resolve(ggufPath).startsWith(resolve(this.dir))
      ? /([a-f0-9]{32})\.gguf$/.exec(ggufPath)
      : null;
    return name?.[1] ? this.get(name[1]) : undefined;
  }

  /** Keeps a quality report with its entry, replacing one measured the same way (same text, context, reference). */
  addQuality(id: string, report: QualityReport): void {
    const entry = this.get(id);
    if (!entry) return;
    const same = (r: QualityReport) =>
      r.text.sha256 === report.text.sha256 &&
      r.context === report.context &&
      r.reference_path === report.reference_path;
    const quality = [...(entry.quality ?? []).filter((r) => !same(r)), report];
    writePrivateFile(join(this.dir, `${id}.json`), JSON.stringify({ ...entry, quality }, null, 2));
  }

  remove(id: string): void {
    if (!ID.test(id)) throw new BerthError('INVALID_REQUEST', `Not a cache id: ${id}`);
    if (!this.get(id)) {
      throw new BerthError(
        'NOT_FOUND',
        `No cached GGUF ${id}`,
        'List the cache with GET /api/conversions/cache.',
      );
    }
    rmSync(this.ggufPath(id), { force: true });
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }
}
