import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../../..');
export const VENV_PYTHON = join(REPO, 'python', '.venv', 'bin', 'python');
export const TRAINER_RUN = join(REPO, 'electron', 'core', 'checkpoints', '__fixtures__', 'trainer-run');
export const OLLAMA_STANDIN_DIR = join(REPO, 'test-standins', 'ollama');
export const VLLM_STANDIN_DIR = join(REPO, 'test-standins', 'vllm');

/**
 * A converter Python that records every converter run (argv, one line each) before becoming the real venv
 * Python with execv (same pid, so cancel and kill reach the real converter). With BERTH_TEST_CONVERTER_DELAY
 * set it first sleeps that many seconds, so a test can cancel a conversion that is surely in flight.
 * This is how the tests observe which deployments start a converter process and which never do.
 */
export function recordingConverterPython(): { python: string; log: string; runs(): string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-conv-rec-'));
  const log = join(dir, 'runs.log');
  const python = join(dir, 'python');
  writeFileSync(
    python,
    `#!${VENV_PYTHON}
import os, sys, time
if any(a.endswith(("convert_to_gguf.py", "lora_to_gguf.py")) for a in sys.argv[1:]):
    with open(${JSON.stringify(log)}, "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    time.sleep(float(os.environ.get("BERTH_TEST_CONVERTER_DELAY", "0")))
os.execv(${JSON.stringify(VENV_PYTHON)}, [${JSON.stringify(VENV_PYTHON)}] + sys.argv[1:])
`,
  );
  chmodSync(python, 0o755);
  return {
    python,
    log,
    runs: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}
