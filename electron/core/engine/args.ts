import { parseArgs } from 'node:util';
import { z } from 'zod';

/** The engine's command line, validated: what `berth`'s llama.cpp backend passes and a person may type. */
export const EngineOptionsSchema = z.object({
  model: z.string().min(1).endsWith('.gguf', 'the model must be a .gguf file'),
  /** A llama.cpp LoRA adapter GGUF applied over the model (general.type = adapter). */
  lora: z.string().min(1).endsWith('.gguf', 'the LoRA adapter must be a .gguf file').optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'a served model name without spaces'),
  /** Context window per sequence; unset means the model's training context, capped at 4096. */
  ctx: z.coerce.number().int().min(64).max(1_048_576).optional(),
  gpu: z.enum(['auto', 'cpu']).default('auto'),
  apiKey: z.string().min(1).optional(),
  /** Requests served at the same time (one context sequence each); more wait in a queue. */
  parallel: z.coerce.number().int().min(1).max(64).default(1),
  /** CPU threads for evaluation; unset means node-llama-cpp's choice (the machine's math cores). */
  threads: z.coerce.number().int().min(1).max(256).optional(),
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
});
export type EngineOptions = z.infer<typeof EngineOptionsSchema>;

/** Parses `--model <gguf> [--lora <adapter gguf>] --port N --name <served name> [--host] [--ctx] [--gpu] [--api-key] [--parallel] [--threads]`. */
export function parseEngineArgs(argv: string[]): EngineOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: 'string' },
      lora: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      name: { type: 'string' },
      ctx: { type: 'string' },
      gpu: { type: 'string' },
      'api-key': { type: 'string' },
      parallel: { type: 'string' },
      threads: { type: 'string' },
      'max-body-bytes': { type: 'string' },
    },
  });
  const parsed = EngineOptionsSchema.safeParse({
    model: values.model,
    lora: values.lora,
    host: values.host,
    port: values.port,
    name: values.name,
    ctx: values.ctx,
    gpu: values.gpu,
    apiKey: values['api-key'],
    parallel: values.parallel,
    threads: values.threads,
    maxBodyBytes: values['max-body-bytes'],
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid arguments: ${issues}`);
  }
  return parsed.data;
}
