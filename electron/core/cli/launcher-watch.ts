import { fstatSync, readFileSync } from 'node:fs';

/** The parent pid of `pid` from /proc (Linux); undefined where it cannot be read (gone, or not Linux). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onGone` once when whoever started this process is gone, so `berth serve` does not outlive it with
 * servers nobody can stop. `npx berth serve` runs as npm -> sh -c -> node: a service manager's SIGTERM to
 * npm's pid kills npm, but the shell neither passes it on nor exits, so our own parent never changes. Hence
 * two levels are watched: our parent, and our parent's parent (on Linux). Where stdin is a pipe, its end
 * means the same (the launcher held the other end). Parent pid 1 (systemd, a container's init) never goes.
 */
export function watchLauncher(onGone: (why: string) => void, intervalMs = 1000): () => void {
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  let fired = false;
  const fire = (why: string) => {
    if (fired) return;
    fired = true;
    stop();
    onGone(why);
  };
  const timer = setInterval(() => {
    if (process.ppid !== parent) return fire(`its parent process ${parent} exited`);
    if (grandparent !== undefined && grandparent > 1) {
      const now = parentOf(parent);
      if (now !== undefined && now !== grandparent) fire(`process ${grandparent}, which started it, exited`);
    }
  }, intervalMs);
  timer.unref();
  const stdinIsPipe = (() => {
    try {
      return fstatSync(0).isFIFO();
    } catch {
      return false;
    }
  })();
  const onEnd = () => fire('its stdin pipe closed');
  if (stdinIsPipe) {
    process.stdin.on('end', onEnd);
    process.stdin.on('error', onEnd);
    process.stdin.resume();
  }
  function stop() {
    clearInterval(timer);
    if (stdinIsPipe) {
      process.stdin.off('end', onEnd);
      process.stdin.off('error', onEnd);
      process.stdin.pause();
    }
  }
  return stop;
}
