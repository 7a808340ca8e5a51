import { appendFileSync, closeSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogLine } from '../../../shared/servers.js';
import { mkdirPrivate, openPrivate } from '../private-fs.js';

export const RING_LINES = 5_000;
export const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Where one server's log lines go: a ring buffer of the last 5,000 lines (for the API and failure tails), a
 * per-server file rotated at a size limit (one previous file kept as `.1`), and a listener (the event bus).
 * It outlives each child process, so a restart keeps the history.
 */
export class LogSink {
  private readonly ring: LogLine[] = [];
  private readonly listeners = new Set<(line: LogLine) => void>();
  private fileBytes: number;
  private fileFailed = false;

  constructor(
    private readonly file: string,
    /** `[vllm my-model pid 4242]`, refreshed on each start since the pid changes. */
    public origin: string,
    private readonly maxBytes = LOG_FILE_MAX_BYTES,
    private readonly ringSize = RING_LINES,
  ) {
    mkdirPrivate(dirname(file));
    this.fileBytes = fileSize(file);
  }

  /** Records one line from the child (stdout/stderr) or from Berth itself about it. */
  write(stream: LogLine['stream'], line: string): LogLine {
    const entry: LogLine = { ts: Date.now(), stream, line };
    this.ring.push(entry);
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize);
    this.append(`${new Date(entry.ts).toISOString()} ${this.origin} ${stream}: ${line}\n`);
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** The last `n` lines (all kept lines when omitted). */
  tail(n?: number): LogLine[] {
    return n === undefined ? [...this.ring] : this.ring.slice(Math.max(0, this.ring.length - n));
  }

  follow(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get path(): string {
    return this.file;
  }

  private append(text: string): void {
    try {
      if (this.fileBytes + text.length > this.maxBytes && this.fileBytes > 0) {
        rmSync(`${this.file}.1`, { force: true });
        renameSync(this.file, `${this.file}.1`);
        this.fileBytes = 0;
      }
      mkdirPrivate(dirname(this.file));
      if (this.fileBytes === 0) closeSync(openPrivate(this.file, 'a')); // created 0600, whatever the umask
      appendFileSync(this.file, text);
      this.fileBytes += Buffer.byteLength(text);
    } catch (error) {
      // A full disk or a deleted data folder must not take the supervisor down; the ring still has the line.
      if (!this.fileFailed)
        process.emitWarning(`Berth: cannot write ${this.file}: ${(error as Error).message}`);
      this.fileFailed = true;
    }
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
