import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { baseModelNameOf } from '../../../shared/servers.js';
import type { EngineOptions } from './args.js';
import {
  ApiError,
  ChatRequestSchema,
  CompletionRequestSchema,
  type FinishReason,
  parseRequest,
  samplingOf,
  usageOf,
} from './protocol.js';
import type { Generation, ModelRunner, Variant } from './runner.js';

/** What the HTTP layer needs: the options, the runner once loaded, and a log sink. */
export interface EngineHttpDeps {
  options: EngineOptions;
  runner(): ModelRunner | undefined;
  log(line: string): void;
}

/** The engine's OpenAI-compatible API on node:http. `/health` is 503 until the model is loaded. */
export function createEngineServer(deps: EngineHttpDeps): Server {
  const created = Math.floor(Date.now() / 1000);
  return createServer({ noDelay: true }, (req, res) => {
    const started = performance.now();
    res.on('close', () => {
      const ms = Math.round(performance.now() - started);
      if (res.writableFinished) deps.log(`${req.method} ${req.url} ${res.statusCode} ${ms} ms`);
      else deps.log(`${req.method} ${req.url} closed by the client after ${ms} ms (generation stopped)`);
    });
    route(req, res, deps, created).catch((error: unknown) => sendError(res, error, deps.log));
  });
}

async function route(req: IncomingMessage, res: ServerResponse, deps: EngineHttpDeps, created: number) {
  const path = (req.url ?? '/').split('?')[0];
  const runner = deps.runner();
  if (path === '/health') {
    requireMethod(req, 'GET');
    if (!runner) return sendJson(res, 503, { status: 'loading' });
    return sendJson(res, 200, {
      status: 'ok',
      model: deps.options.name,
      ...(runner.hasBase ? { base_model: baseModelNameOf(deps.options.name) } : {}),
      ...runner.info,
    });
  }
  if (!path?.startsWith('/v1/'))
    throw new ApiError(404, `No route for ${req.method} ${path}`, 'not_found_error');
  checkApiKey(req, deps.options.apiKey);
  if (!runner)
    throw new ApiError(503, 'The model is still loading; retry shortly.', 'server_error', 'loading');
  if (path.startsWith('/v1/models/')) {
    requireMethod(req, 'GET');
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    checkModel(id, deps.options.name, runner.hasBase);
    return sendJson(res, 200, modelObject(id, created, runner.info.contextSize));
  }
  switch (path) {
    case '/v1/models':
      requireMethod(req, 'GET');
      return sendJson(res, 200, {
        object: 'list',
        data: servedNames(deps.options.name, runner.hasBase).map((name) =>
          modelObject(name, created, runner.info.contextSize),
        ),
      });
    case '/v1/chat/completions': {
      requireMethod(req, 'POST');
      const request = parseRequest(ChatRequestSchema, await readJson(req, deps.options.maxBodyBytes));
      const variant = checkModel(request.model, deps.options.name, runner.hasBase);
      const sampling = samplingOf(request);
      return serveGeneration(res, request.stream === true, request.stream_options?.include_usage, {
        object: 'chat.completion',
        id: `chatcmpl-${randomUUID()}`,
        model: request.model ?? deps.options.name,
        run: (hooks) => runner.chat(request.messages, sampling, hooks, variant),
      });
    }
    case '/v1/completions': {
      requireMethod(req, 'POST');
      const request = parseRequest(CompletionRequestSchema, await readJson(req, deps.options.maxBodyBytes));
      const variant = checkModel(request.model, deps.options.name, runner.hasBase);
      const prompt = typeof request.prompt === 'string' ? request.prompt : (request.prompt[0] ?? '');
      const sampling = samplingOf(request);
      return serveGeneration(res, request.stream === true, request.stream_options?.include_usage, {
        object: 'text_completion',
        id: `cmpl-${randomUUID()}`,
        model: request.model ?? deps.options.name,
        run: (hooks) => runner.complete(prompt, sampling, hooks, variant),
      });
    }
    default:
      throw new ApiError(404, `No route for ${req.method} ${path}`, 'not_found_error');
  }
}

function modelObject(name: string, created: number, contextSize: number) {
  return { id: name, object: 'model', created, owned_by: 'berth', max_model_len: contextSize };
}

interface GenerationJob {
  object: 'chat.completion' | 'text_completion';
  id: string;
  model: string;
  run(hooks: {
    signal: AbortSignal;
    onText?(text: string, kind: 'content' | 'reasoning'): void;
  }): Promise<Generation>;
}

/** Runs one generation, answering in one JSON body or as Server-Sent Events; a closed client aborts it. */
async function serveGeneration(
  res: ServerResponse,
  stream: boolean,
  includeUsage: boolean | undefined,
  job: GenerationJob,
) {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
  });
  const created = Math.floor(Date.now() / 1000);
  const chat = job.object === 'chat.completion';
  const base = { id: job.id, created, model: job.model };
  if (!stream) {
    const result = await job.run({ signal: abort.signal });
    const choice = chat
      ? { index: 0, message: { role: 'assistant', content: result.text }, finish_reason: result.finishReason }
      : { index: 0, text: result.text, logprobs: null, finish_reason: result.finishReason };
    return sendJson(res, 200, {
      ...base,
      object: job.object,
      choices: [choice],
      usage: usageOf(result.promptTokens, result.completionTokens),
    });
  }
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  let headersSent = false;
  const send = (payload: unknown) => {
    if (!headersSent) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      headersSent = true;
    }
    res.write(`data: ${JSON.stringify(payload)}\n\n`);
  };
  const chunk = (delta: Record<string, string>, finishReason: FinishReason | null) =>
    chat
      ? { ...base, object, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] }
      : {
          ...base,
          object,
          choices: [{ index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finishReason }],
        };
  try {
    // Queue position and prompt errors surface before the first byte, so they still get a proper status code.
    const result = await job.run({
      signal: abort.signal,
      onText: (text, kind) => {
        if (!headersSent && chat) send(chunk({ role: 'assistant', content: '' }, null));
        if (kind === 'content') send(chunk({ content: text }, null));
        else if (chat) send(chunk({ reasoning_content: text }, null));
      },
    });
    if (!headersSent && chat) send(chunk({ role: 'assistant', content: '' }, null));
    send(chunk({}, result.finishReason));
    if (includeUsage)
      send({ ...base, object, choices: [], usage: usageOf(result.promptTokens, result.completionTokens) });
    res.end('data: [DONE]\n\n');
  } catch (error) {
    if (!headersSent) throw error;
    const apiError = error instanceof ApiError ? error : new ApiError(500, messageOf(error), 'server_error');
    res.end(`data: ${JSON.stringify(apiError.toJSON())}\n\ndata: [DONE]\n\n`);
  }
}

/** Reads a JSON body of at most `limit` bytes. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Past the limit the rest is read and dropped (not kept in memory), so the client gets the 413 instead of a
  // broken pipe in the middle of its upload.
  for await (const piece of req) {
    const buffer = piece as Buffer;
    size += buffer.length;
    if (size <= limit) chunks.push(buffer);
  }
  if (size > limit) throw tooLarge(limit);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'The request body is not valid JSON.');
  }
}

function tooLarge(limit: number) {
  return new ApiError(
    413,
    `The request body is larger than ${limit} bytes.`,
    'invalid_request_error',
    'payload_too_large',
  );
}

function requireMethod(req: IncomingMessage, method: string) {
  if (req.method !== method)
    throw new ApiError(405, `Use ${method} for ${req.url}.`, 'invalid_request_error', 'method_not_allowed');
}

const servedNames = (served: string, hasBase: boolean) =>
  hasBase ? [served, baseModelNameOf(served)] : [served];

/** Which model a request names: the served one (also when it names none), or the base. */
function checkModel(model: string | undefined, served: string, hasBase: boolean): Variant {
  if (model === undefined || model === served) return 'served';
  if (hasBase && model === baseModelNameOf(served)) return 'base';
  throw new ApiError(
    404,
    `The model \`${model}\` does not exist; this server serves ${servedNames(served, hasBase)
      .map((n) => `\`${n}\``)
      .join(' and ')}.`,
    'not_found_error',
    'model_not_found',
    'model',
  );
}

function checkApiKey(req: IncomingMessage, apiKey: string | undefined) {
  if (apiKey === undefined) return;
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${apiKey}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError(
      401,
      'Missing or wrong API key (Authorization: Bearer <key>).',
      'invalid_request_error',
      'invalid_api_key',
    );
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown, log: (line: string) => void) {
  const apiError = error instanceof ApiError ? error : new ApiError(500, messageOf(error), 'server_error');
  if (apiError.status >= 500) log(`error: ${apiError.message}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, apiError.status, apiError.toJSON());
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
