import { z } from 'zod';
import { QuantizationSchema } from './deploy.js';
import { QualityReportSchema } from './quality.js';

/** One GGUF in Berth's conversion cache (keyed by checkpoint fingerprint, output type, converter version). */
export const ConversionCacheEntrySchema = z.object({
  id: z.string(),
  gguf_path: z.string(),
  model_path: z.string(),
  quantization: QuantizationSchema,
  bytes: z.number(),
  created_at: z.string(),
  converter_version: z.string(),
  /** LoRA entries: `adapter` (a llama.cpp LoRA GGUF) or `merged`, and the base they were made against. */
  lora_mode: z.enum(['adapter', 'merged']).optional(),
  base_model_path: z.string().optional(),
  /** Quality reports measured for this GGUF (one per evaluation text, context and reference): measured once. */
  quality: z.array(QualityReportSchema).optional(),
});
export type ConversionCacheEntry = z.infer<typeof ConversionCacheEntrySchema>;

/** Whether the converter can run here, and what is missing when it cannot. */
export const ConverterEnvSchema = z.object({
  ready: z.boolean(),
  python: z.string().optional(),
  source: z.enum(['settings', 'repo', 'berth', 'none']),
  missing: z.array(z.string()),
  hint: z.string().optional(),
});
export type ConverterEnv = z.infer<typeof ConverterEnvSchema>;
