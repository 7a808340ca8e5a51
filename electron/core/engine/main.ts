#!/usr/bin/env node
// Berth's built-in inference server: one GGUF, loaded with node-llama-cpp, behind an OpenAI-compatible API.
// Run as a child process by the llama.cpp backend (`node dist/electron/core/engine/main.js --model ... --port ...`).
// Every line it prints starts with "engine:" or "llama.cpp"; a fatal error is one line
// `engine: error <CODE>: <message>` before a non-zero exit, which the backend's classifyFailure reads.
import { existsSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type EngineOptions, parseEngineArgs } from './args.js';
import { probeEngine } from './detect.js';
import { ggufHeaderProblem } from './gguf-header.js';
import { createEngineServer } from './http.js';
import { ModelRunner } from './runner.js';

const log = (line: string) => process.stdout.write(`engine: ${line}\n`);

function fail(code: string, message: string, exitCode: number): never {
  process.stderr.write(`engine: error ${code}: ${message}\n`);
  process.exit(exitCode);
}

async function main() {
  if (process.argv[2] === '--detect') {
    process.stdout.write(`${JSON.stringify(await probeEngine())}\n`);
    process.exit(0);
  }
  let options: EngineOptions;
  try {
    options = parseEngineArgs(process.argv.slice(2));
  } catch (error) {
    fail('INVALID_ARGUMENTS', (error as Error).message, 2);
  }
  if (!existsSync(options.model) || !statSync(options.model).isFile()) {
    fail('MODEL_NOT_FOUND', `no GGUF file at ${options.model}`, 2);
  }
  const problem = await ggufHeaderProblem(options.model);
  if (problem) fail('MODEL_LOAD_FAILED', `${options.model}: ${problem}`, 4);
  if (options.lora && (!existsSync(options.lora) || !statSync(options.lora).isFile())) {
    fail('MODEL_NOT_FOUND', `no LoRA adapter GGUF at ${options.lora}`, 2);
  }

  let runner: ModelRunner | undefined;
  const server = createEngineServer({ options, runner: () => runner, log });
  server.requestTimeout = 0; // long generations stream for minutes; the client decides when to give up
  await new Promise<void>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        fail('PORT_IN_USE', `${options.host}:${options.port} is already in use`, 3);
      fail('LISTEN_FAILED', error.message, 3);
    });
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  log(`listening on http://${options.host}:${port} (loading ${options.model})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: closing`);
    server.close();
    server.closeIdleConnections();
    // In-flight generations get a moment to finish, then their connections are cut.
    const cut = setTimeout(() => server.closeAllConnections(), 3000);
    await new Promise((resolve) => server.once('close', resolve));
    clearTimeout(cut);
    await runner?.dispose();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const started = performance.now();
  try {
    runner = await ModelRunner.load(options, log);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const code = /out of memory|failed to allocate|ErrorOutOfDeviceMemory/i.test(message)
      ? 'OUT_OF_MEMORY'
      : 'MODEL_LOAD_FAILED';
    fail(code, `${options.model}: ${message}`, 4);
  }
  const info = runner.info;
  log(
    `model loaded in ${Math.round(performance.now() - started)} ms: ${options.name} ` +
      `(gpu ${info.gpu || 'none'}, ${info.gpuLayers} layers offloaded, context ${info.contextSize}, ` +
      `${info.parallel} parallel, chat template ${info.chatWrapper})`,
  );
  log(`ready on http://${options.host}:${port}/v1`);
}

void main();
