import { pickEnv } from '../env-allowlist.js';

/** Variables a converter child may inherit; everything else (LD_PRELOAD, tokens, ...) stays out. */
const ALLOWED = [
  'PATH',
  'HOME',
  'USER',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SYSTEMROOT',
  'BERTH_LIBLLAMA',
  'BERTH_TOKENIZER_PRE',
];

/** The environment for a Python child: an allowlist plus unbuffered UTF-8 output. */
export function childEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return pickEnv(env, ALLOWED, { PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' });
}
