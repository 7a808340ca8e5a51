import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../events.js';
import { SettingsService } from './settings.js';
import { createMemoryStore, type KeyValueStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-settings-'));
const program = join(dir, 'python');
writeFileSync(program, '#!/bin/sh\nexit 0\n');
chmodSync(program, 0o755);
const notExecutable = join(dir, 'plain.txt');
writeFileSync(notExecutable, 'x');
chmodSync(notExecutable, 0o644);
mkdirSync(join(dir, 'folder'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let store: KeyValueStore;
let settings: SettingsService;
beforeEach(() => {
  store = createMemoryStore();
  settings = new SettingsService(store, new EventBus());
});

describe('settings that name a program', () => {
  it.each([
    ['a relative path', 'venv/bin/python', 'absolute'],
    ['a missing file', join(dir, 'nope'), 'does not exist'],
    ['a folder', join(dir, 'folder'), 'not a regular file'],
    ['a file without the x bit', notExecutable, 'not executable'],
    ['a FIFO-like device', '/dev/null', 'not a regular file'],
    ['a path with NUL', `${program}\0x`, 'NUL'],
  ])('refuse %s', (_what, path, message) => {
    // root may execute a 0644 file according to access(2); the check itself is what matters there.
    if (path === notExecutable && process.getuid?.() === 0) return;
    expect(() => settings.update({ python: { converter: path } })).toThrow(
      expect.objectContaining({ message: expect.stringContaining(message) }),
    );
    expect(settings.get().python.converter).toBeUndefined();
  });

  it('take effect at once from the window (or an in-process caller)', () => {
    settings.update({ python: { converter: program } }, 'local');
    expect(settings.get().python.converter).toBe(program);
    expect(settings.pending()).toEqual([]);
  });

  it('wait for the user when changed over the HTTP API, then apply or discard', () => {
    settings.update({ python: { vllm: program }, ollama: { binary: program }, auto_restart: true }, 'http');
    expect(settings.get().python.vllm).toBeUndefined();
    expect(settings.get().ollama.binary).toBeUndefined();
    expect(settings.get().auto_restart).toBe(true); // the rest of the patch applies at once
    expect(
      settings
        .pending()
        .map((p) => p.key)
        .sort(),
    ).toEqual(['ollama.binary', 'python.vllm']);
    settings.applyPending('python.vllm');
    expect(settings.get().python.vllm).toBe(program);
    settings.discardPending('ollama.binary');
    expect(settings.get().ollama.binary).toBeUndefined();
    expect(settings.pending()).toEqual([]);
  });

  it('check the file again when a pending change is applied', () => {
    const later = join(dir, 'later');
    writeFileSync(later, '#!/bin/sh\n');
    chmodSync(later, 0o755);
    settings.update({ python: { converter: later } }, 'http');
    rmSync(later);
    expect(() => settings.applyPending('python.converter')).toThrow(/does not exist/);
    expect(settings.get().python.converter).toBeUndefined();
  });

  it("reset to the default at once, even over HTTP (the default is not the caller's choice)", () => {
    settings.update({ python: { converter: program } });
    settings.update({ python: { converter: null } }, 'http');
    expect(settings.get().python.converter).toBeUndefined();
  });
});

describe('other settings', () => {
  it('keep the API on loopback over HTTP; the window may choose another address', () => {
    expect(() => settings.update({ api: { host: '0.0.0.0' } }, 'http')).toThrow(
      expect.objectContaining({ code: 'SETTING_LOCKED' }),
    );
    settings.update({ api: { host: '127.0.0.2' } }, 'http');
    expect(settings.get().api.host).toBe('127.0.0.2');
    settings.update({ api: { host: '0.0.0.0' } }, 'local');
    expect(settings.get().api.host).toBe('0.0.0.0');
  });

  it.each([
    [{ ports: { vllm: 0 } }, 'ports.vllm'],
    [{ ports: { ollama: 70000 } }, 'ports.ollama'],
    [{ ollama: { host: 'ftp://x' } }, 'ollama.host'],
    [{ ollama: { host: 'localhost:11434' } }, 'ollama.host'],
    [{ roots: ['relative/dir'] }, 'roots.0'],
    [{ roots: ['/ok', '/bad\0'] }, 'roots.1'],
  ])('refuse %j with the field named', (patch, field) => {
    expect(() => settings.update(patch, 'http')).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining(field) }),
    );
  });

  it('accept a valid Ollama URL and absolute roots', () => {
    settings.update({ ollama: { host: 'http://[::1]:11434' }, roots: ['/data/runs'] }, 'http');
    expect(settings.get().ollama.host).toBe('http://[::1]:11434');
    expect(settings.get().roots).toEqual(['/data/runs']);
  });

  it('drop only the stored fields that no longer validate (a hand-edited file)', () => {
    store.set('settings', {
      roots: ['/ok', 'relative'],
      ports: { vllm: 0, ollama: 11500 },
      auto_restart: true,
    });
    const s = settings.get();
    expect(s.roots).toEqual(['/ok']);
    expect(s.ports).toEqual({ vllm: 8000, ollama: 11500, llamacpp: 8080 });
    expect(s.auto_restart).toBe(true);
  });
});
