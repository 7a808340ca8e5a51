import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { readGgufFileInfo } from 'node-llama-cpp';
import type { CreateRequest, Ollama } from 'ollama';
import { BerthError } from '../../errors.js';
import type { PreparedModel, StageContext } from '../backend.js';
import { classifyOllamaFailure } from './ollama-failures.js';
import { ollamaChatFormat } from './ollama-template.js';

/** The file name the GGUF gets inside the Ollama model (`files` in /api/create). */
const GGUF_FILE = 'model.gguf';
/** The file name a LoRA adapter GGUF gets (`adapters` in /api/create). */
const ADAPTER_FILE = 'adapter.gguf';

/** Uploads the GGUF (unless Ollama has that digest), creates the model, checks /api/show and warms it up. */
export async function importModel(
  client: Ollama,
  url: string,
  model: PreparedModel,
  ctx: StageContext,
): Promise<void> {
  const gguf = model.gguf_path;
  if (!gguf) throw new BerthError('INTERNAL', 'Ollama needs a prepared GGUF');
  const digest = await ensureBlob(url, gguf, ctx);
  // A LoRA adapter served as one: its GGUF is Ollama's ADAPTER layer over the base (a blob like the model).
  const adapterDigest = model.adapter_gguf_path
    ? await ensureBlob(url, model.adapter_gguf_path, ctx)
    : undefined;

  const info = await readGgufFileInfo(gguf, { readTensorInfo: false });
  const tokenizer = info.metadata.tokenizer;
  const eosId = tokenizer?.ggml?.eos_token_id;
  const eos = eosId !== undefined ? tokenizer?.ggml?.tokens?.[eosId] : undefined;
  const format = ollamaChatFormat(tokenizer?.chat_template, eos);
  const trained = Number(info.architectureMetadata?.context_length ?? 4096);
  const numCtx = model.config.context_length ?? Math.min(trained, 4096);
  ctx.log(
    `chat template: ${format.family}${format.template ? ' (Berth supplies a template and stop words)' : ''}`,
    'berth',
  );
  const request = {
    model: model.model_name,
    files: { [GGUF_FILE]: digest },
    ...(adapterDigest ? { adapters: { [ADAPTER_FILE]: adapterDigest } } : {}),
    parameters: { num_ctx: numCtx, ...(format.stop.length > 0 ? { stop: format.stop } : {}) },
    ...(format.template ? { template: format.template } : {}),
  };
  await ollamaCall('create', async () => {
    // ollama-js 0.6.4 types lack `files` (the server's create API has it); the client sends the body as is.
    const progress = await client.create({ ...request, stream: true } as CreateRequest & { stream: true });
    for await (const line of progress) ctx.log(`ollama create: ${line.status}`);
  });
  await ollamaCall('show', () => client.show({ model: model.model_name }));
  await ollamaCall('warm-up', () =>
    client.generate({ model: model.model_name, prompt: 'Hello', stream: false, options: { num_predict: 1 } }),
  );
}

/** Uploads a file as a blob unless Ollama already has its digest; returns the digest. */
async function ensureBlob(url: string, path: string, ctx: StageContext): Promise<string> {
  const digest = await sha256Digest(path, ctx);
  const head = await fetch(`${url}/api/blobs/${digest}`, { method: 'HEAD', signal: ctx.signal });
  if (head.status === 200) ctx.log(`ollama already has ${digest}`, 'berth');
  else await uploadBlob(url, path, digest, ctx);
  return digest;
}

/** Runs one Ollama API call, turning its error message into a classified BerthError. */
export async function ollamaCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    throw (
      classifyOllamaFailure([message]) ??
      new BerthError(
        'OLLAMA_IMPORT_FAILED',
        `Ollama ${what} failed: ${message}`,
        'The server log has details.',
      )
    );
  }
}

/** `sha256:<hex>` of a file, streamed (GGUFs are gigabytes), reporting progress. */
async function sha256Digest(path: string, ctx: StageContext): Promise<string> {
  const total = (await stat(path)).size;
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(path, { signal: ctx.signal })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    ctx.progress({ stage: 'import', done, total, unit: 'bytes', detail: 'hashing the GGUF' });
  }
  return `sha256:${hash.digest('hex')}`;
}

async function uploadBlob(url: string, path: string, digest: string, ctx: StageContext): Promise<void> {
  const total = (await stat(path)).size;
  let done = 0;
  const counted = createReadStream(path).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        done += chunk.length;
        ctx.progress({ stage: 'import', done, total, unit: 'bytes', detail: 'uploading to Ollama' });
        callback(null, chunk);
      },
    }),
  );
  const res = await fetch(`${url}/api/blobs/${digest}`, {
    method: 'POST',
    body: Readable.toWeb(counted) as ReadableStream,
    duplex: 'half',
    headers: { 'content-length': String(total) },
    signal: ctx.signal,
  });
  if (res.status !== 201 && res.status !== 200) {
    const text = await res.text();
    throw new BerthError('OLLAMA_IMPORT_FAILED', `Ollama refused the GGUF upload (${res.status}): ${text}`);
  }
  ctx.log(`uploaded ${total} bytes to Ollama as ${digest}`, 'berth');
}
