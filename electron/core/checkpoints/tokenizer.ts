import type { TokenizerInfo } from '../../../shared/checkpoints.js';
import { isRecord, JSON_LIMITS, openReadOnly, readAt, readJsonFile } from './files.js';

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'chat_template.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
];

/** How far into tokenizer.json to look for `"model": {"type": ...}` (it follows added_tokens and normalizers). */
const SCAN_LIMIT = 8 * 1024 * 1024;

/**
 * The tokenizer kind and whether a chat template exists, from file names and two small reads: the
 * tokenizer_config.json, and a forward scan of tokenizer.json for its model type (the vocabulary is not parsed).
 */
export async function describeTokenizer(dir: string, files: Set<string>): Promise<TokenizerInfo> {
  const present = TOKENIZER_FILES.filter((f) => files.has(f));
  let kind: TokenizerInfo['kind'] = 'none';
  if (files.has('tokenizer.model')) kind = 'sentencepiece';
  else if (files.has('tokenizer.json')) kind = await tokenizerJsonKind(`${dir}/tokenizer.json`);
  else if (files.has('merges.txt')) kind = 'bpe';
  else if (files.has('vocab.txt')) kind = 'wordpiece';
  else if (present.length > 0) kind = 'unknown';

  let source: string | undefined;
  if (files.has('chat_template.jinja')) source = 'chat_template.jinja';
  else if (files.has('chat_template.json')) source = 'chat_template.json';
  else if (files.has('tokenizer_config.json')) {
    // A broken tokenizer_config.json only means "no template found"; a FIFO or a huge file is reported.
    const config = await readJsonFile(
      `${dir}/tokenizer_config.json`,
      'CONFIG_INVALID',
      JSON_LIMITS.tokenizer,
    ).catch((error: { code?: string }) => {
      if (error.code === 'CONFIG_INVALID') return undefined;
      throw error;
    });
    const template = isRecord(config) ? config.chat_template : undefined;
    if (
      (typeof template === 'string' && template.length > 0) ||
      (Array.isArray(template) && template.length > 0)
    )
      source = 'tokenizer_config.json';
  }
  return {
    kind,
    chat_template: source !== undefined,
    ...(source ? { chat_template_source: source } : {}),
    files: present,
  };
}

async function tokenizerJsonKind(path: string): Promise<TokenizerInfo['kind']> {
  const fh = await openReadOnly(path);
  try {
    const size = (await fh.stat()).size;
    const pattern = /"model"\s*:\s*\{\s*"type"\s*:\s*"(\w+)"/;
    let tail = '';
    for (let pos = 0; pos < Math.min(size, SCAN_LIMIT); pos += 256 * 1024) {
      const text = tail + (await readAt(fh, pos, 256 * 1024)).toString('utf8');
      const match = pattern.exec(text);
      if (match) return modelKind(match[1] ?? '');
      tail = text.slice(-256);
    }
    return 'unknown';
  } finally {
    await fh.close();
  }
}

function modelKind(type: string): TokenizerInfo['kind'] {
  if (type === 'BPE') return 'bpe';
  if (type === 'Unigram') return 'unigram';
  if (type === 'WordPiece' || type === 'WordLevel') return 'wordpiece';
  return 'unknown';
}
