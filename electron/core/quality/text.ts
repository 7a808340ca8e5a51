// The evaluation text of a quality report: the default that ships with Berth (resources/eval/berth-eval.txt),
// or the user's own file: plain text, or JSONL whose records carry `text` or chat `messages` (rendered later,
// in the evaluator child, through the model's own chat template).
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { EvalTextInfo } from '../../../shared/quality.js';
import { BerthError } from '../errors.js';
import { appRoot } from '../version.js';

export interface EvalMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One piece of the evaluation stream: plain text, or a conversation for the chat template. */
export type EvalSegment = { text: string } | { messages: EvalMessage[] };

export interface EvalText {
  info: EvalTextInfo;
  segments: EvalSegment[];
}

/** Evaluation files are read whole; a quality report needs thousands of tokens, not gigabytes. */
export const MAX_EVAL_TEXT_BYTES = 32 * 1024 * 1024;

export function defaultEvalTextPath(): string {
  return join(appRoot(), 'resources', 'eval', 'berth-eval.txt');
}

function invalid(path: string, message: string): BerthError {
  return new BerthError(
    'EVAL_TEXT_INVALID',
    `${path}: ${message}`,
    'Give a UTF-8 text file, or JSONL with one object per line holding "text" or "messages" ([{role, content}]).',
  );
}

function readBounded(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BerthError('PATH_NOT_FOUND', `No evaluation text at ${path}`);
    throw new BerthError('FILE_UNREADABLE', `Cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BerthError('NOT_A_FILE', `${path} is not a regular file`);
    if (st.size > MAX_EVAL_TEXT_BYTES) {
      throw new BerthError(
        'FILE_TOO_LARGE',
        `${path} is ${st.size} bytes; evaluation texts are read up to ${MAX_EVAL_TEXT_BYTES}`,
        'A few thousand tokens are enough; cut the file down.',
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

const ROLES = new Set(['system', 'user', 'assistant']);

function parseMessages(path: string, line: number, value: unknown): EvalMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalid(path, `line ${line}: "messages" must be a non-empty array`);
  return value.map((m, i) => {
    const role = (m as { role?: unknown })?.role;
    const content = (m as { content?: unknown })?.content;
    if (typeof role !== 'string' || !ROLES.has(role) || typeof content !== 'string') {
      throw invalid(
        path,
        `line ${line}: messages[${i}] needs a role (system, user, assistant) and string content`,
      );
    }
    return { role: role as EvalMessage['role'], content };
  });
}

/** Parses evaluation text bytes (already read) as plain text or JSONL. */
export function parseEvalText(path: string, bytes: Buffer, source: EvalTextInfo['source']): EvalText {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(path, 'not UTF-8 text');
  }
  if (text.includes('\u0000')) throw invalid(path, 'contains NUL bytes (a binary file?)');
  const name = basename(path);
  const isJsonl = /\.jsonl$/i.test(path);
  if (!isJsonl) {
    if (!text.trim()) throw invalid(path, 'the file is empty');
    return { info: { source, name, path, format: 'text', records: 1, sha256 }, segments: [{ text }] };
  }
  const segments: EvalSegment[] = [];
  let kinds = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch {
      throw invalid(path, `line ${i + 1} is not JSON`);
    }
    const r = record as { text?: unknown; messages?: unknown };
    if (typeof r?.text === 'string') {
      if (r.text.trim()) segments.push({ text: r.text });
      kinds |= 1;
    } else if (r?.messages !== undefined) {
      segments.push({ messages: parseMessages(path, i + 1, r.messages) });
      kinds |= 2;
    } else throw invalid(path, `line ${i + 1} has neither "text" nor "messages"`);
  });
  if (segments.length === 0) throw invalid(path, 'no records with text');
  const format = kinds & 2 ? 'jsonl-messages' : 'jsonl-text';
  return { info: { source, name, path, format, records: segments.length, sha256 }, segments };
}

/** The evaluation text at `path`, or the default one. */
export function loadEvalText(path?: string): EvalText {
  if (!path) {
    const p = defaultEvalTextPath();
    return parseEvalText(p, readBounded(p), 'default');
  }
  const p = resolve(path);
  return parseEvalText(p, readBounded(p), 'file');
}
