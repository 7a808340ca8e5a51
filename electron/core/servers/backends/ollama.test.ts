import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../engine/__fixtures__/engine-process.js';
import { ollamaScenarios } from '../test-support/ollama-scenarios.js';
import { normalizeHost } from './ollama.js';
import { classifyOllamaFailure } from './ollama-failures.js';
import { ollamaChatFormat, PLAIN_TEMPLATE, ROLE_TEMPLATE } from './ollama-template.js';

const STANDIN_DIR = fileURLToPath(new URL('../../../../test-standins/ollama', import.meta.url));

describe('ollamaChatFormat', () => {
  it.each([
    ['<|im_start|>{{ role }}', 'chatml'],
    ['<|start_header_id|>system<|end_header_id|>', 'llama3'],
    ['<start_of_turn>user', 'gemma'],
    ['[INST] {{ message }} [/INST]', 'mistral'],
  ])('leaves a template Ollama recognizes alone (%s)', (template, family) => {
    expect(ollamaChatFormat(template, '</s>')).toEqual({ family, stop: [] });
  });

  it('sends a plain template and the EOS stop word when the GGUF has no chat template', () => {
    expect(ollamaChatFormat(undefined, '</s>')).toEqual({
      family: 'none',
      template: PLAIN_TEMPLATE,
      stop: ['</s>'],
    });
  });

  it('sends a role template and stop words for an unrecognized chat template', () => {
    expect(ollamaChatFormat('{% for m in messages %}<<{{ m.role }}>>{% endfor %}', '<eos>')).toEqual({
      family: 'unknown',
      template: ROLE_TEMPLATE,
      stop: ['<eos>', '\nuser:'],
    });
  });
});

describe('classifyOllamaFailure', () => {
  it.each([
    ['Error: model requires more system memory (5.6 GiB) than is available (3.1 GiB)', 'OUT_OF_MEMORY'],
    ['llama runner process has terminated: error loading model: Failed to load model', 'MODEL_LOAD_FAILED'],
    ['Error: listen tcp 127.0.0.1:11434: bind: address already in use', 'PORT_IN_USE'],
    [
      'time=2024-07-21T15:40:57.047-07:00 level=INFO source=routes.go:1143 msg="Listening on 127.0.0.1:11434 (version 0.2.7)"',
      undefined,
    ],
  ])('%s -> %s', (line, code) => {
    expect(classifyOllamaFailure([line])?.code).toBe(code);
  });
});

describe('normalizeHost', () => {
  it.each([
    ['127.0.0.1:11434', 'http://127.0.0.1:11434'],
    ['http://localhost:11434/', 'http://localhost:11434'],
  ])('%s -> %s', (host, url) => expect(normalizeHost(host)).toBe(url));
});

// The stand-in (test-standins/ollama, NOT Ollama) first on PATH: the real Ollama cannot be installed here.
describe('ollama backend with the Ollama stand-in', () => {
  ollamaScenarios({ path: `${STANDIN_DIR}:${process.env.PATH ?? ''}`, standin: true });
});

describe('the Ollama stand-in itself', () => {
  it('refuses a blob whose bytes do not match its digest (400), and keeps nothing of it', async () => {
    const models = mkdtempSync(join(tmpdir(), 'berth-standin-'));
    const port = await freePort();
    const child = spawn(join(STANDIN_DIR, 'ollama'), ['serve'], {
      env: { ...process.env, OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_MODELS: models },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      while (
        !(await fetch(`${url}/api/version`).then(
          (r) => r.ok,
          () => false,
        ))
      )
        await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toMatch(new RegExp(`Listening on 127\\.0\\.0\\.1:${port} \\(version [0-9.]+\\)`));
      const digest = `sha256:${createHash('sha256').update('right bytes').digest('hex')}`;
      const head = await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD' });
      expect(head.status).toBe(404);
      const wrong = await fetch(`${url}/api/blobs/${digest}`, { method: 'POST', body: 'wrong bytes' });
      expect(wrong.status).toBe(400);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/digest mismatch/);
      expect((await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
      const right = await fetch(`${url}/api/blobs/${digest}`, { method: 'POST', body: 'right bytes' });
      expect(right.status).toBe(201);
      expect((await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
      const missing = await fetch(`${url}/api/show`, {
        method: 'POST',
        body: JSON.stringify({ model: 'nope' }),
      });
      expect(missing.status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(models, { recursive: true, force: true });
    }
  });
});
