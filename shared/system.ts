import { z } from 'zod';

/**
 * The machine as Berth sees it. The hardware issue fills in the detection and the recommendation; the fields
 * here are the ones the rest of Berth relies on.
 */
export const GpuSchema = z.object({
  index: z.number().int(),
  vendor: z.enum(['nvidia', 'amd', 'apple', 'intel', 'other']),
  name: z.string(),
  memory_total_bytes: z.number(),
  memory_used_bytes: z.number().optional(),
  memory_free_bytes: z.number().optional(),
  uuid: z.string().optional(),
  driver: z.string().optional(),
  compute_capability: z.string().optional(),
});
export type Gpu = z.infer<typeof GpuSchema>;

export const BackendStatusSchema = z.object({
  name: z.enum(['vllm', 'ollama', 'llamacpp', 'converter']),
  installed: z.boolean(),
  version: z.string().optional(),
  detail: z.string().optional(),
  install_hint: z.string().optional(),
});
export type BackendStatus = z.infer<typeof BackendStatusSchema>;

export const SystemReportSchema = z.object({
  detected_at: z.string(),
  gpus: z.array(GpuSchema),
  cpu: z.object({ model: z.string(), cores: z.number().int() }),
  memory: z.object({ total_bytes: z.number(), free_bytes: z.number() }),
  disk: z.object({ path: z.string(), free_bytes: z.number(), total_bytes: z.number() }).optional(),
  backends: z.array(BackendStatusSchema),
  warnings: z.array(z.string()),
});
export type SystemReport = z.infer<typeof SystemReportSchema>;
