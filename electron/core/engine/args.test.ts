import { describe, expect, it } from 'vitest';
import { parseEngineArgs } from './args.js';

describe('parseEngineArgs', () => {
  it('reads the full command line the backend passes', () => {
    const options = parseEngineArgs([
      '--model',
      '/m/model.gguf',
      '--host',
      '127.0.0.1',
      '--port',
      '8080',
      '--name',
      'my-model',
      '--ctx',
      '2048',
      '--gpu',
      'cpu',
      '--api-key',
      'k',
      '--parallel',
      '2',
      '--threads',
      '1',
    ]);
    expect(options).toMatchObject({
      model: '/m/model.gguf',
      host: '127.0.0.1',
      port: 8080,
      name: 'my-model',
      ctx: 2048,
      gpu: 'cpu',
      apiKey: 'k',
      parallel: 2,
      threads: 1,
    });
  });

  it('defaults host, gpu and parallelism', () => {
    const options = parseEngineArgs(['--model', 'a.gguf', '--port', '1', '--name', 'n']);
    expect(options).toMatchObject({ host: '127.0.0.1', gpu: 'auto', parallel: 1 });
    expect(options.ctx).toBeUndefined();
  });

  it.each([
    [['--port', '1', '--name', 'n'], /--model/],
    [['--model', 'a.bin', '--port', '1', '--name', 'n'], /gguf/],
    [['--model', 'a.gguf', '--port', 'x', '--name', 'n'], /--port/],
    [['--model', 'a.gguf', '--port', '1', '--name', 'has space'], /--name/],
    [['--model', 'a.gguf', '--port', '1', '--name', 'n', '--gpu', 'cuda'], /--gpu/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseEngineArgs(argv)).toThrow(message);
  });

  it('refuses unknown flags', () => {
    expect(() =>
      parseEngineArgs(['--model', 'a.gguf', '--port', '1', '--name', 'n', '--shell', 'x']),
    ).toThrow();
  });
});
