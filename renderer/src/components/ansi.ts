/** A run of text with one style, from a line that may carry ANSI SGR colour codes. */
export interface AnsiSegment {
  text: string;
  fg?: string;
  bold?: boolean;
}

const COLORS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/** Splits a log line on ANSI SGR sequences (ESC [ ... m) into styled segments; other escapes are dropped. */
export function parseAnsi(line: string): AnsiSegment[] {
  const segments: AnsiSegment[] = [];
  let fg: string | undefined;
  let bold = false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC by definition
  const re = /\u001b\[([0-9;]*)([A-Za-z])/g;
  let last = 0;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m.index > last)
      segments.push({ text: line.slice(last, m.index), ...(fg ? { fg } : {}), ...(bold ? { bold } : {}) });
    last = m.index + m[0].length;
    if (m[2] !== 'm') continue;
    for (const code of (m[1] || '0').split(';').map(Number)) {
      if (code === 0) {
        fg = undefined;
        bold = false;
      } else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code === 39) fg = undefined;
      else if (code >= 30 && code <= 37) fg = COLORS[code - 30];
      else if (code >= 90 && code <= 97) fg = `bright-${COLORS[code - 90]}`;
    }
  }
  if (last < line.length)
    segments.push({ text: line.slice(last), ...(fg ? { fg } : {}), ...(bold ? { bold } : {}) });
  return segments;
}

/** The line without escape codes (for search and copy). */
export function stripAnsi(line: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC by definition
  return line.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}
