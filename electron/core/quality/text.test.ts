import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEvalText, parseEvalText } from './text.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-evaltext-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};

describe('evaluation text', () => {
  it('the default text ships with Berth: prose and code, a few thousand tokens worth', () => {
    const t = loadEvalText();
    expect(t.info).toMatchObject({ source: 'default', name: 'berth-eval.txt', format: 'text', records: 1 });
    const text = (t.segments[0] as { text: string }).text;
    expect(text).toContain('Alice was beginning to get very tired');
    expect(text).toContain('sqlite3WalkExpr');
    expect(text.length).toBeGreaterThan(10_000);
    expect(t.info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads a plain text file and JSONL with text or messages', () => {
    expect(loadEvalText(file('a.txt', 'hello world')).segments).toEqual([{ text: 'hello world' }]);
    const jsonl = [
      JSON.stringify({ text: 'one' }),
      '',
      JSON.stringify({
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
        ],
      }),
    ].join('\n');
    const t = loadEvalText(file('b.jsonl', jsonl));
    expect(t.info).toMatchObject({ source: 'file', format: 'jsonl-messages', records: 2 });
    expect(t.segments[1]).toEqual({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
    });
    expect(loadEvalText(file('c.jsonl', '{"text":"x"}\n')).info.format).toBe('jsonl-text');
  });

  it('bad input is a coded error naming the problem', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as { code: string }).code, (e as Error).message];
      }
      return ['none', ''];
    };
    expect(code(() => loadEvalText(join(dir, 'missing.txt')))[0]).toBe('PATH_NOT_FOUND');
    expect(code(() => loadEvalText(dir))[0]).toBe('NOT_A_FILE');
    expect(code(() => loadEvalText(file('e.txt', '  \n')))).toEqual([
      'EVAL_TEXT_INVALID',
      expect.stringMatching(/empty/),
    ]);
    expect(code(() => loadEvalText(file('bin.txt', Buffer.from([0xff, 0xfe, 0x00]))))[0]).toBe(
      'EVAL_TEXT_INVALID',
    );
    expect(code(() => loadEvalText(file('d.jsonl', '{"text":"x"}\nnot json\n')))[1]).toMatch(
      /line 2 is not JSON/,
    );
    expect(code(() => loadEvalText(file('f.jsonl', '{"prompt":"x"}\n')))[1]).toMatch(
      /neither "text" nor "messages"/,
    );
    expect(
      code(() => loadEvalText(file('g.jsonl', '{"messages":[{"role":"robot","content":"x"}]}\n')))[1],
    ).toMatch(/messages\[0\] needs a role/);
    expect(code(() => parseEvalText('x.jsonl', Buffer.from('\n\n'), 'file'))[1]).toMatch(/no records/);
  });
});
