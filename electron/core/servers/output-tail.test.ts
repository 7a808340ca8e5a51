import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A child that appends numbered lines to its stdout (a file) in bursts, as a busy server logs.
const WRITER = `
const total = Number(process.argv[1]);
let i = 0;
function burst() {
  let chunk = '';
  for (let k = 0; k < 500 && i < total; k++, i++) chunk += 'line ' + String(i).padStart(7, '0') + ' ' + 'x'.repeat(i % 50) + '\\n';
  require('fs').writeSync(1, chunk);
  if (i < total) setTimeout(burst, i % 7 === 0 ? 1 : 0); else process.exit(0);
}
burst();
`;

describe('OutputTail', () => {
  it('reads every line exactly once, in order, through many releases under load, with the disk bounded', async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-tail-'));
    const file = join(dir, 'server.log.stdout');
    const seen: string[] = [];
    const maxBytes = 64 * 1024;
    const tail = new OutputTail(file, (line) => seen.push(line), maxBytes).start(2);
    const fd = tail.childFd();
    const total = 200_000; // ~7.7 MB through a 64 KiB budget: well over a hundred releases
    const child = spawn(process.execPath, ['-e', WRITER, String(total)], {
      stdio: ['ignore', fd, 'inherit'],
    });
    closeSync(fd);
    let peakDisk = 0;
    const sampler = setInterval(() => {
      peakDisk = Math.max(peakDisk, statSync(file).blocks * 512);
    }, 5);
    await new Promise((resolve) => child.once('exit', resolve));
    clearInterval(sampler);
    tail.drain();
    tail.close();

    expect(seen.length).toBe(total);
    const wrong = seen.findIndex((line, i) => !line.startsWith(`line ${String(i).padStart(7, '0')} `));
    expect(wrong).toBe(-1);
    const apparent = statSync(file).size;
    const onDisk = statSync(file).blocks * 512;
    let written = 0;
    for (let i = 0; i < total; i++) written += 14 + (i % 50);
    expect(apparent).toBe(written); // the writer's offsets were never disturbed
    expect(onDisk).toBeLessThanOrEqual(maxBytes + 256 * 1024 + 4096); // budget + one read chunk + a block
    expect(peakDisk).toBeLessThan(apparent / 4);
  }, 60_000);
});
