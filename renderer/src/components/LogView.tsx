import { useEffect, useMemo, useRef, useState } from 'react';
import type { LogLine } from '../../../shared/servers.js';
import { parseAnsi, stripAnsi } from './ansi.js';

const ROW = 18;
const OVERSCAN = 20;

/**
 * A live log: virtualized (only visible rows are in the DOM, so 100,000 lines stay fast), following the tail
 * until the user scrolls up (paused) or presses Pause, with search, copy and ANSI colours.
 */
export function LogView(props: { lines: LogLine[]; height?: number; label: string }) {
  const height = props.height ?? 360;
  const ref = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [scrollTop, setScrollTop] = useState(0);
  const [copied, setCopied] = useState(false);

  const shown = useMemo(() => {
    if (!query) return props.lines;
    const q = query.toLowerCase();
    return props.lines.filter((l) => stripAnsi(l.line).toLowerCase().includes(q));
  }, [props.lines, query]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: re-run when the lines change, to keep the tail in view
  useEffect(() => {
    const el = ref.current;
    if (follow && el) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  }, [shown, follow]);

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(shown.length, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const visible = shown.slice(first, last);

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    setScrollTop(el.scrollTop);
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 2;
    if (!atBottom && follow) setFollow(false);
    if (atBottom && !follow) setFollow(true);
  };

  const copy = async () => {
    await navigator.clipboard?.writeText(shown.map((l) => stripAnsi(l.line)).join('\n'));
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  return (
    <div className="logview">
      <div className="logview-bar">
        <input
          type="search"
          placeholder="Search log"
          aria-label={`Search ${props.label}`}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted" aria-live="polite">
          {query ? `${shown.length} of ${props.lines.length} lines` : `${props.lines.length} lines`}
        </span>
        <button type="button" className="secondary" onClick={() => setFollow(!follow)} aria-pressed={!follow}>
          {follow ? 'Pause' : 'Follow'}
        </button>
        <button type="button" className="secondary" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <div
        ref={ref}
        className="logview-body mono"
        style={{ height }}
        onScroll={onScroll}
        role="log"
        aria-label={props.label}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls with the keyboard
        tabIndex={0}
      >
        <div style={{ height: shown.length * ROW, position: 'relative' }}>
          {visible.map((l, i) => (
            <div
              // biome-ignore lint/suspicious/noArrayIndexKey: a row's absolute index is its identity in an append-only log
              key={first + i}
              className={`logline log-${l.stream}`}
              style={{ top: (first + i) * ROW, height: ROW }}
            >
              {parseAnsi(l.line).map((seg, j) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: segments of one immutable line never reorder
                <span key={j} className={`${seg.fg ? `ansi-${seg.fg}` : ''}${seg.bold ? ' ansi-bold' : ''}`}>
                  {seg.text}
                </span>
              ))}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
