import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 256 * 1024;

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

  constructor(
    readonly file: string,
    private readonly onLine: (line: string) => void,
    /** Truncate the file once everything in it was read and it is larger than this. */
    private readonly maxBytes = 10 * 1024 * 1024,
  ) {
    this.fd = openSync(file, 'a+');
    this.offset = fstatSync(this.fd).size;
  }

  /** A descriptor for the child to write to (append mode); the caller closes it once the child has it. */
  childFd(): number {
    return openSync(this.file, 'a');
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
    // Everything is read: start the file over when it grew large (the child appends, so it writes at 0 next).
    if (this.offset > this.maxBytes && fstatSync(this.fd).size === this.offset) {
      ftruncateSync(this.fd, 0);
      this.offset = 0;
    }
  }
}
