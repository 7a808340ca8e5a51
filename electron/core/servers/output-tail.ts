import { closeSync, fstatSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { openPrivate } from '../private-fs.js';
import { punchFront } from './punch-hole.js';

const CHUNK = 256 * 1024;
/** Holes are punched in whole file-system blocks. */
const BLOCK = 4096;

/**
 * A child's stdout or stderr as a file it appends to, read back line by line. Children write to files, not
 * pipes, so they survive Berth quitting (a pipe with no reader kills a Go program like Ollama at its next log
 * line, and makes Node's stdout throw) and a later Berth can follow an adopted server's output again.
 */
export class OutputTail {
  private readonly fd: number;
  private offset: number;
  private timer: NodeJS.Timeout | undefined;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private closed = false;
  /** Bytes at the front of the file whose disk blocks were given back. */
  private released = 0;
  private cannotRelease = false;

  constructor(
    readonly file: string,
    private readonly onLine: (line: string) => void,
    /** Give back the disk space of what was read once more than this much of it is kept. */
    private readonly maxBytes = 10 * 1024 * 1024,
  ) {
    this.fd = openPrivate(file, 'a+');
    this.offset = fstatSync(this.fd).size;
    this.released = this.offset; // what an earlier Berth read (or released) is not ours to account for
  }

  /** A descriptor for the child to write to (append mode); the caller closes it once the child has it. */
  childFd(): number {
    return openPrivate(this.file, 'a');
  }

  /** Bytes of the file that still take disk space behind the read offset (for tests and diagnostics). */
  get retainedBytes(): number {
    return this.offset - this.released;
  }

  /** Reads new output every `pollMs`. */
  start(pollMs = 50): this {
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
    return this;
  }

  /** Reads everything written so far (and the last line even without its newline). */
  drain(): void {
    this.poll();
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.onLine(rest.replace(/\r$/, ''));
  }

  /** Stops reading; the file stays (the child may go on writing to it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    closeSync(this.fd);
  }

  /** Reads whatever complete lines are there now (between polls, e.g. right before reporting "running"). */
  poll(): void {
    if (this.closed) return;
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(this.fd, buffer, 0, CHUNK, this.offset);
      if (n <= 0) break;
      this.offset += n;
      const text = this.partial + this.decoder.write(buffer.subarray(0, n));
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line.replace(/\r$/, ''));
    }
    this.release();
  }

  /**
   * Bounds the disk without losing a byte. Truncating after reading to the end loses whatever the child writes
   * between the size check and the truncate; instead the blocks already read are punched out (fallocate
   * PUNCH_HOLE): the child keeps appending at the end, our offset stays valid, and only bytes we have read are
   * released. Where the file system cannot punch holes the file is left to grow, since losing output is worse.
   */
  private release(): void {
    if (this.cannotRelease || this.offset - this.released <= this.maxBytes) return;
    const upTo = Math.floor(this.offset / BLOCK) * BLOCK;
    if (upTo <= this.released) return;
    if (punchFront(this.fd, upTo)) this.released = upTo;
    else {
      this.cannotRelease = true;
      process.emitWarning(
        `Berth: cannot release space in ${this.file} (no hole punching here); it will grow.`,
      );
    }
  }
}
