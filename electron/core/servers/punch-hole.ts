import koffi from 'koffi';

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;

type Fallocate = (fd: number, mode: number, offset: bigint | number, length: bigint | number) => number;

let fallocate: Fallocate | null | undefined;

/** libc's fallocate(2), loaded once; null where there is none (not Linux, or no libc found). */
function loadFallocate(): Fallocate | null {
  if (fallocate !== undefined) return fallocate;
  fallocate = null;
  if (process.platform !== 'linux') return fallocate;
  for (const name of ['libc.so.6', 'libc.so']) {
    try {
      const libc = koffi.load(name);
      fallocate = libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)') as Fallocate;
      break;
    } catch {
      // try the next name (musl calls it libc.so)
    }
  }
  return fallocate;
}

/**
 * Frees the disk blocks of the first `length` bytes of an open file, leaving its size and every offset as they
 * are: a writer appending to it and a reader at its own offset both carry on, and nothing after `length` is
 * touched. The bytes read back as zeros from then on. Returns false where the OS or file system cannot do it.
 */
export function punchFront(fd: number, length: number): boolean {
  const fn = loadFallocate();
  if (!fn || length <= 0) return false;
  return fn(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, length) === 0;
}
