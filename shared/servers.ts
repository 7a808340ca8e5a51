import { z } from 'zod';
import { QuantizationSchema, ServerTypeSchema } from './deploy.js';
import { BerthErrorSchema } from './errors.js';

/**
 * With a LoRA adapter served over its base (vLLM, the built-in engine), the deployment's name runs the adapter
 * and this name the same weights without it.
 */
export const baseModelNameOf = (name: string) => `${name}-base`;

/** starting -> running -> stopping -> stopped, or -> crashed / failed. */
export const ServerStatusSchema = z.enum(['starting', 'running', 'stopping', 'stopped', 'crashed', 'failed']);
export type ServerStatus = z.infer<typeof ServerStatusSchema>;

/** One inference server Berth runs (or adopted), as the window, the tray, the API and the CLI see it. */
export const ServerInfoSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  server_type: ServerTypeSchema,
  status: ServerStatusSchema,
  host: z.string(),
  port: z.number().int(),
  base_url: z.string(),
  openai_base_url: z.string(),
  model_name: z.string(),
  /** For a LoRA adapter served over its base: the name the same server answers to without the adapter. */
  base_model_name: z.string().optional(),
  model_id: z.uuid(),
  model_path: z.string(),
  job_id: z.uuid().optional(),
  checkpoint_path: z.string().optional(),
  gguf_path: z.string().optional(),
  quantization: QuantizationSchema.optional(),
  pid: z.number().int().optional(),
  started_at: z.string().optional(),
  stopped_at: z.string().optional(),
  exit: z.object({ code: z.number().int().nullable(), signal: z.string().nullable() }).optional(),
  error: BerthErrorSchema.optional(),
  restarts: z.number().int().default(0),
  auto_restart: z.boolean().default(false),
  /** GPU memory the server's processes hold, from the last VRAM query. */
  gpu_memory_bytes: z.number().optional(),
  /** The command line it was started with (argument array, never a shell string). */
  command: z.array(z.string()).optional(),
});
export type ServerInfo = z.infer<typeof ServerInfoSchema>;

export const LogStreamSchema = z.enum(['stdout', 'stderr', 'berth']);
export const LogLineSchema = z.object({ ts: z.number(), stream: LogStreamSchema, line: z.string() });
export type LogLine = z.infer<typeof LogLineSchema>;
