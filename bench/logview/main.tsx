// The real LogView under a synthetic firehose: lines arrive as the app's stores deliver them (batched once per
// animation frame), at a rate the benchmark sets. Exposes window.bench for bench/ui.ts to drive and read.
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { LogView } from '../../renderer/src/components/LogView.js';
import type { LogLine } from '../../shared/servers.js';
import '../../renderer/src/styles.css';
import '../../renderer/src/styles/flow.css';

declare global {
  interface Window {
    bench: { start(rate: number, seconds: number): void; sent: number; done: boolean; latencies: number[] };
  }
}

let queue: LogLine[] = [];
const bench: Window['bench'] = { start: () => {}, sent: 0, done: false, latencies: [] };
window.bench = bench;

function Harness() {
  const [lines, setLines] = useState<LogLine[]>([]);
  useEffect(() => {
    let raf = 0;
    const flush = () => {
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        setLines((prev) => prev.concat(batch));
      }
      raf = requestAnimationFrame(flush);
    };
    raf = requestAnimationFrame(flush);
    bench.start = (rate, seconds) => {
      const started = performance.now();
      const colours = ['\u001b[32mINFO\u001b[0m', '\u001b[33mWARN\u001b[0m', 'DEBUG'];
      const timer = setInterval(() => {
        const due = Math.min(rate * seconds, Math.floor(((performance.now() - started) / 1000) * rate));
        while (bench.sent < due) {
          const n = bench.sent++;
          queue.push({
            ts: Date.now(),
            stream: n % 7 === 0 ? 'stderr' : 'stdout',
            line: `${colours[n % 3]} [engine] line ${n} tokens=${n * 3} elapsed=${(n / rate).toFixed(3)}s`,
          });
        }
        if (bench.sent >= rate * seconds) {
          clearInterval(timer);
          bench.done = true;
        }
      }, 10);
    };
    // Input latency: from a key press to the next frame after React handled it.
    const onKey = (e: KeyboardEvent) => {
      const t0 = e.timeStamp;
      requestAnimationFrame(() => setTimeout(() => bench.latencies.push(performance.now() - t0), 0));
    };
    window.addEventListener('keydown', onKey, true);
    return () => {
      cancelAnimationFrame(raf);
      window.removeEventListener('keydown', onKey, true);
    };
  }, []);
  return (
    <div style={{ padding: 16 }}>
      <LogView lines={lines} label="Benchmark log" height={480} />
    </div>
  );
}

createRoot(document.getElementById('root')!).render(<Harness />);
