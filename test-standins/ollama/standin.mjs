// NOT Ollama: a stand-in for Berth's tests, where the real Ollama cannot be installed. It speaks the subset of
// Ollama's HTTP API Berth uses, with the real paths, bodies and streaming (NDJSON) shapes, and loads the GGUFs
// it is given with real llama.cpp (node-llama-cpp), so a file Berth imports is proven loadable.
import { createHash, randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const VERSION = '0.6.5';
/** GGUF general.file_type -> the quantization_level Ollama reports. */
const FILE_TYPES = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  32: 'BF16',
};
const DIGEST = /^sha256[:-]([0-9a-f]{64})$/;

const log = (level, msg) =>
  process.stderr.write(`time=${new Date().toISOString()} level=${level} source=standin.mjs msg="${msg}"\n`);

function hostAndPort(value) {
  const raw = (value || '127.0.0.1:11434').replace(/^https?:\/\//, '');
  const at = raw.lastIndexOf(':');
  if (at < 0) return { host: raw, port: 11434 };
  return { host: raw.slice(0, at) || '127.0.0.1', port: Number(raw.slice(at + 1)) };
}

/** `name` -> `name:latest`, as Ollama names models. */
function fullName(name) {
  return name.includes(':') ? name : `${name}:latest`;
}

class Store {
  constructor(root) {
    this.root = root;
    this.blobs = join(root, 'blobs');
    this.manifests = join(root, 'manifests', 'berth-standin');
    mkdirSync(this.blobs, { recursive: true });
    mkdirSync(this.manifests, { recursive: true });
  }
  blobPath(hex) {
    return join(this.blobs, `sha256-${hex}`);
  }
  manifestPath(name) {
    return join(this.manifests, encodeURIComponent(fullName(name)));
  }
  read(name) {
    const path = this.manifestPath(name);
    return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
  }
  write(manifest) {
    writeFileSync(this.manifestPath(manifest.name), JSON.stringify(manifest));
  }
  remove(name) {
    rmSync(this.manifestPath(name));
  }
  list() {
    return readdir(this.manifests).map((file) =>
      JSON.parse(readFileSync(join(this.manifests, file), 'utf8')),
    );
  }
}

function readdir(dir) {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Loaded models: name -> { model, context, gguf }; one llama.cpp instance for all. */
class Runner {
  constructor() {
    this.loaded = new Map();
    this.llama = undefined;
  }
  async load(manifest, store) {
    const existing = this.loaded.get(manifest.name);
    if (existing) return existing;
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    this.llama ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const path = store.blobPath(manifest.gguf);
    const limit = Number(process.env.BERTH_STANDIN_OLLAMA_MEMORY_BYTES || 0);
    const size = statSync(path).size;
    if (limit > 0 && size > limit) {
      const gib = (n) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
      throw Object.assign(
        new Error(`model requires more system memory (${gib(size)}) than is available (${gib(limit)})`),
        { status: 500 },
      );
    }
    try {
      const model = await this.llama.loadModel({ modelPath: path });
      const numCtx = Number(manifest.parameters?.num_ctx ?? 2048);
      const context = await model.createContext({
        contextSize: Math.min(numCtx, model.trainContextSize),
        threads: 1,
      });
      const entry = { model, context, size, expires_at: new Date(Date.now() + 5 * 60_000).toISOString() };
      this.loaded.set(manifest.name, entry);
      log('INFO', `loaded ${manifest.name} from ${path}`);
      return entry;
    } catch (error) {
      throw Object.assign(
        new Error(`llama runner process has terminated: error loading model: ${error.message}`),
        { status: 500 },
      );
    }
  }
  async unload(name) {
    const entry = this.loaded.get(fullName(name));
    if (!entry) return;
    this.loaded.delete(fullName(name));
    await entry.context.dispose();
    await entry.model.dispose();
  }
}

/** One generation at a time per model (one context sequence), like a single-slot Ollama runner. */
function generate(entry, messages, options, onText) {
  const run = (entry.queue ?? Promise.resolve()).then(() => generateNow(entry, messages, options, onText));
  entry.queue = run.catch(() => {});
  return run;
}

/** Generates with the model's own chat template (node-llama-cpp reads it from the GGUF), calling onText per piece. */
async function generateNow(entry, messages, options, onText) {
  const { LlamaChat } = await import('node-llama-cpp');
  const sequence = entry.context.getSequence();
  const chat = new LlamaChat({ contextSequence: sequence });
  try {
    const history = messages.map((m) =>
      m.role === 'system'
        ? { type: 'system', text: m.content }
        : m.role === 'assistant'
          ? { type: 'model', response: [m.content] }
          : { type: 'user', text: m.content },
    );
    history.push({ type: 'model', response: [] });
    const { contextText } = chat.chatWrapper.generateContextState({ chatHistory: history });
    const promptTokens = contextText.tokenize(entry.model.tokenizer).length;
    let evalCount = 0;
    const started = process.hrtime.bigint();
    const result = await chat.generateResponse(history, {
      maxTokens: options.num_predict > 0 ? options.num_predict : 128,
      temperature: options.temperature ?? 0.8,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.top_p !== undefined ? { topP: options.top_p } : {}),
      ...(Array.isArray(options.stop) && options.stop.length ? { customStopTriggers: options.stop } : {}),
      repeatPenalty: false,
      onToken: (tokens) => (evalCount += tokens.length),
      onTextChunk: (text) => text && onText(text),
    });
    return {
      text: result.response,
      done_reason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      prompt_eval_count: promptTokens,
      eval_count: evalCount,
      eval_duration: Number(process.hrtime.bigint() - started),
    };
  } finally {
    chat.dispose({ disposeSequence: true });
  }
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error('invalid character in request body'), { status: 400 });
  }
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

function notFound(name) {
  return Object.assign(new Error(`model '${name}' not found`), { status: 404 });
}

function details(manifest) {
  return {
    parent_model: '',
    format: 'gguf',
    family: manifest.architecture,
    families: [manifest.architecture],
    parameter_size: manifest.parameter_size,
    quantization_level: manifest.file_type,
  };
}

function parametersText(parameters = {}) {
  return Object.entries(parameters)
    .flatMap(([key, value]) =>
      Array.isArray(value) ? value.map((v) => `${key} ${JSON.stringify(v)}`) : [`${key} ${value}`],
    )
    .join('\n');
}

/** Reads a GGUF's metadata the way `ollama create` parses it; errors read like Ollama's. */
async function parseGguf(path) {
  const { readGgufFileInfo } = await import('node-llama-cpp');
  const header = Buffer.alloc(8);
  const fd = await open(path, 'r');
  try {
    await fd.read(header, 0, 8, 0);
  } finally {
    await fd.close();
  }
  if (header.toString('latin1', 0, 4) !== 'GGUF') throw new Error('invalid file magic');
  const version = header.readUInt32LE(4);
  if (version < 2 || version > 3) throw new Error(`unsupported GGUF version ${version}`);
  const info = await readGgufFileInfo(path, { readTensorInfo: false });
  const architecture = info.metadata.general?.architecture ?? 'unknown';
  return {
    architecture,
    file_type: FILE_TYPES[info.metadata.general?.file_type] ?? 'unknown',
    parameter_size: info.metadata.general?.size_label ?? '',
    context_length: info.architectureMetadata?.context_length,
  };
}

async function handle(req, res, ctx) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const blob = /^\/api\/blobs\/(.+)$/.exec(path);
  if (req.method === 'GET' && (path === '/' || path === '')) return res.end('Ollama is running');
  if (req.method === 'HEAD' && path === '/') return res.end();
  if (blob && (req.method === 'HEAD' || req.method === 'POST')) {
    const match = DIGEST.exec(blob[1]);
    if (!match) return send(res, 400, { error: `invalid digest format` });
    const target = ctx.store.blobPath(match[1]);
    if (req.method === 'HEAD') {
      res.writeHead(existsSync(target) ? 200 : 404);
      return res.end();
    }
    const partial = `${target}-partial-${randomUUID()}`;
    const hash = createHash('sha256');
    req.on('data', (chunk) => hash.update(chunk));
    await pipeline(req, createWriteStream(partial));
    const got = hash.digest('hex');
    if (got !== match[1]) {
      rmSync(partial, { force: true });
      return send(res, 400, { error: `digest mismatch, expected "sha256:${match[1]}", got "sha256:${got}"` });
    }
    renameSync(partial, target);
    res.writeHead(201);
    return res.end();
  }
  if (req.method === 'GET' && path === '/api/version') return send(res, 200, { version: VERSION });
  if (req.method === 'GET' && path === '/api/tags') {
    return send(res, 200, {
      models: ctx.store.list().map((m) => ({
        name: m.name,
        model: m.name,
        modified_at: m.modified_at,
        size: m.size,
        digest: m.gguf,
        details: details(m),
      })),
    });
  }
  if (req.method === 'GET' && path === '/api/ps') {
    return send(res, 200, {
      models: [...ctx.runner.loaded.entries()].map(([name, entry]) => {
        const m = ctx.store.read(name);
        return {
          name,
          model: name,
          size: entry.size,
          digest: m?.gguf,
          details: m ? details(m) : {},
          expires_at: entry.expires_at,
          size_vram: 0,
        };
      }),
    });
  }
  if (req.method === 'POST' && path === '/api/create') return create(req, res, ctx);
  if (req.method === 'POST' && path === '/api/show') {
    const body = await readJson(req);
    const m = ctx.store.read(body.model ?? body.name ?? '');
    if (!m) throw notFound(body.model);
    return send(res, 200, {
      modelfile: `# Modelfile generated by "ollama show" (berth stand-in)\nFROM ${ctx.store.blobPath(m.gguf)}\n`,
      parameters: parametersText(m.parameters),
      template: m.template ?? '{{ .Prompt }}',
      ...(m.system ? { system: m.system } : {}),
      details: details(m),
      model_info: {
        'general.architecture': m.architecture,
        [`${m.architecture}.context_length`]: m.context_length,
      },
      capabilities: ['completion'],
      modified_at: m.modified_at,
    });
  }
  if (req.method === 'DELETE' && path === '/api/delete') {
    const body = await readJson(req);
    const name = body.model ?? body.name ?? '';
    if (!ctx.store.read(name)) throw notFound(name);
    await ctx.runner.unload(name);
    ctx.store.remove(name);
    res.writeHead(200);
    return res.end();
  }
  if (req.method === 'POST' && (path === '/api/generate' || path === '/api/chat'))
    return generateRoute(req, res, ctx, path === '/api/chat');
  if (req.method === 'GET' && path === '/v1/models') {
    return send(res, 200, {
      object: 'list',
      data: ctx.store.list().map((m) => ({
        id: m.name,
        object: 'model',
        created: Math.floor(Date.parse(m.modified_at) / 1000),
        owned_by: 'library',
      })),
    });
  }
  if (req.method === 'POST' && path === '/v1/chat/completions') return openaiChat(req, res, ctx);
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('404 page not found');
}

async function create(req, res, ctx) {
  const body = await readJson(req);
  const name = body.model ?? body.name;
  const stream = body.stream !== false;
  if (!name) return send(res, 400, { error: 'missing model name' });
  const files = Object.entries(body.files ?? {});
  if (files.length !== 1 || !files[0][0].endsWith('.gguf')) {
    return send(res, 400, { error: 'the berth stand-in creates models from exactly one .gguf file' });
  }
  const match = DIGEST.exec(files[0][1]);
  if (!match || !existsSync(ctx.store.blobPath(match[1])))
    return send(res, 400, { error: `blob ${files[0][1]} not found` });
  const lines = [];
  const status = (line) => {
    if (stream) {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify(line)}\n`);
    } else lines.push(line);
  };
  status({ status: 'parsing GGUF' });
  let meta;
  try {
    meta = await parseGguf(ctx.store.blobPath(match[1]));
  } catch (error) {
    if (!stream) return send(res, 400, { error: error.message });
    res.write(`${JSON.stringify({ error: error.message })}\n`);
    return res.end();
  }
  status({ status: `using existing layer sha256:${match[1]}` });
  if (body.template) status({ status: 'creating new layer sha256:template' });
  if (body.parameters) status({ status: 'creating new layer sha256:params' });
  status({ status: 'writing manifest' });
  ctx.store.write({
    name: fullName(name),
    gguf: match[1],
    size: statSync(ctx.store.blobPath(match[1])).size,
    parameters: body.parameters ?? {},
    template: body.template,
    system: body.system,
    modified_at: new Date().toISOString(),
    ...meta,
  });
  await ctx.runner.unload(name);
  status({ status: 'success' });
  if (stream) return res.end();
  return send(res, 200, lines.at(-1));
}

async function generateRoute(req, res, ctx, chat) {
  const body = await readJson(req);
  const name = fullName(body.model ?? '');
  const manifest = ctx.store.read(name);
  if (!manifest)
    throw Object.assign(new Error(`model "${body.model}" not found, try pulling it first`), { status: 404 });
  const created_at = new Date().toISOString();
  const prompt = chat ? undefined : body.prompt;
  const messages = chat
    ? (body.messages ?? [])
    : prompt
      ? [
          ...(body.system ? [{ role: 'system', content: body.system }] : []),
          { role: 'user', content: prompt },
        ]
      : [];
  const unload = body.keep_alive === 0 || body.keep_alive === '0' || body.keep_alive === '0s';
  if (messages.length === 0) {
    // No prompt: load (warm up) or, with keep_alive 0, unload; the answer says which.
    if (unload) await ctx.runner.unload(name);
    else await ctx.runner.load(manifest, ctx.store);
    const done = { model: name, created_at, done: true, done_reason: unload ? 'unload' : 'load' };
    return send(
      res,
      200,
      chat ? { ...done, message: { role: 'assistant', content: '' } } : { ...done, response: '' },
    );
  }
  const loadStarted = process.hrtime.bigint();
  const entry = await ctx.runner.load(manifest, ctx.store);
  const load_duration = Number(process.hrtime.bigint() - loadStarted);
  const stream = body.stream !== false;
  const piece = (text) => (chat ? { message: { role: 'assistant', content: text } } : { response: text });
  if (stream) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const options = { ...manifest.parameters, ...(body.options ?? {}) };
  const result = await generate(entry, messages, options, (text) => {
    if (stream)
      res.write(
        `${JSON.stringify({ model: name, created_at: new Date().toISOString(), ...piece(text), done: false })}\n`,
      );
  });
  if (unload) await ctx.runner.unload(name);
  const final = {
    model: name,
    created_at: new Date().toISOString(),
    ...piece(stream ? '' : result.text),
    done: true,
    done_reason: result.done_reason,
    total_duration: load_duration + result.eval_duration,
    load_duration,
    prompt_eval_count: result.prompt_eval_count,
    eval_count: result.eval_count,
    eval_duration: result.eval_duration,
  };
  if (stream) return res.end(`${JSON.stringify(final)}\n`);
  return send(res, 200, final);
}

async function openaiChat(req, res, ctx) {
  const body = await readJson(req);
  const name = fullName(body.model ?? '');
  const manifest = ctx.store.read(name);
  if (!manifest) {
    return send(res, 404, {
      error: {
        message: `model "${body.model}" not found, try pulling it first`,
        type: 'api_error',
        param: null,
        code: null,
      },
    });
  }
  const entry = await ctx.runner.load(manifest, ctx.store);
  const id = `chatcmpl-${Math.floor(Math.random() * 1000)}`;
  const created = Math.floor(Date.now() / 1000);
  const options = {
    num_predict: body.max_tokens ?? body.max_completion_tokens ?? -1,
    temperature: body.temperature ?? 1,
    ...(body.seed !== undefined ? { seed: body.seed } : {}),
    ...(body.stop ? { stop: Array.isArray(body.stop) ? body.stop : [body.stop] } : {}),
  };
  const chunk = (delta, finish_reason) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: body.model,
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, delta, finish_reason }],
  });
  if (body.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const result = await generate(entry, body.messages ?? [], options, (text) =>
      res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: text }, null))}\n\n`),
    );
    res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: '' }, result.done_reason))}\n\n`);
    return res.end('data: [DONE]\n\n');
  }
  const result = await generate(entry, body.messages ?? [], options, () => {});
  return send(res, 200, {
    id,
    object: 'chat.completion',
    created,
    model: body.model,
    system_fingerprint: 'fp_ollama',
    choices: [
      { index: 0, message: { role: 'assistant', content: result.text }, finish_reason: result.done_reason },
    ],
    usage: {
      prompt_tokens: result.prompt_eval_count,
      completion_tokens: result.eval_count,
      total_tokens: result.prompt_eval_count + result.eval_count,
    },
  });
}

async function serve() {
  const { host, port } = hostAndPort(process.env.OLLAMA_HOST);
  const root = process.env.OLLAMA_MODELS || join(homedir(), '.ollama', 'models');
  const ctx = { store: new Store(root), runner: new Runner() };
  log(
    'INFO',
    `[berth stand-in] NOT Ollama: a test stand-in serving the Ollama API subset; models in ${root}`,
  );
  log('INFO', `total blobs: ${readdir(ctx.store.blobs).length}`);
  const server = createServer((req, res) => {
    handle(req, res, ctx).catch((error) => {
      log('ERROR', error.message);
      if (res.headersSent) return res.end(`${JSON.stringify({ error: error.message })}\n`);
      send(res, error.status ?? 500, { error: error.message });
    });
  });
  server.once('error', (error) => {
    process.stderr.write(
      `Error: listen tcp ${host}:${port}: bind: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}\n`,
    );
    process.exit(1);
  });
  server.listen(port, host, () => {
    const real = server.address().port;
    log('INFO', `Listening on ${host}:${real} (version ${VERSION})`);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const [command] = process.argv.slice(2);
if (command === 'serve') await serve();
else if (command === '--version' || command === '-v' || command === 'version') {
  const { host, port } = hostAndPort(process.env.OLLAMA_HOST);
  const running = await fetch(`http://${host}:${port}/api/version`).then(
    (r) => r.ok,
    () => false,
  );
  if (running) process.stdout.write(`ollama version is ${VERSION}\n`);
  else
    process.stdout.write(
      `Warning: could not connect to a running Ollama instance\nWarning: client version is ${VERSION}\n`,
    );
} else {
  process.stderr.write(
    `Error: unknown command "${command ?? ''}" for "ollama" (berth stand-in: only serve and --version)\n`,
  );
  process.exit(1);
}
