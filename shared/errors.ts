import { z } from 'zod';

/** Every failure Berth reports, to the window, the API or the CLI, has this shape. */
export const BerthErrorSchema = z.object({
  code: z.string().min(1),
  message: z.string().min(1),
  hint: z.string().optional(),
  /** Structured extras (e.g. the last log lines of a crashed server). */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type BerthErrorShape = z.infer<typeof BerthErrorSchema>;

/**
 * The error codes Berth uses and the HTTP status each maps to.
 * Issues add codes here; a code not listed maps to 500.
 */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  INVALID_SETTING: 400,
  SETTING_LOCKED: 403,
  UNAUTHORIZED: 401,
  FORBIDDEN_HOST: 403,
  FORBIDDEN_ORIGIN: 403,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  CHECKPOINT_NOT_FOUND: 404,
  SERVER_NOT_FOUND: 404,
  DEPLOYMENT_NOT_FOUND: 404,
  PATH_OUTSIDE_ROOTS: 403,
  PATH_ESCAPES_JOB: 400,
  NAME_CONFLICT: 409,
  PORT_IN_USE: 409,
  ALREADY_RUNNING: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  UNSUPPORTED_MODEL: 422,
  INVALID_CHECKPOINT: 422,
  // checkpoint intake: what can be wrong with a folder someone drops in
  PATH_NOT_FOUND: 404,
  NOT_A_FOLDER: 422,
  EMPTY_FOLDER: 422,
  CONFIG_MISSING: 422,
  CONFIG_INVALID: 422,
  WEIGHTS_MISSING: 422,
  SHARD_MISSING: 422,
  SAFETENSORS_TRUNCATED: 422,
  SAFETENSORS_HEADER_TOO_LARGE: 422,
  SAFETENSORS_HEADER_INVALID: 422,
  UNKNOWN_DTYPE: 422,
  TENSOR_OUT_OF_BOUNDS: 422,
  TENSOR_OVERLAP: 422,
  GGUF_INVALID: 422,
  ADAPTER_INVALID: 422,
  ADAPTER_BASE_MISSING: 422,
  ADAPTER_BASE_MISMATCH: 422,
  ADAPTER_UNSUPPORTED: 422,
  SYMLINK_LOOP: 422,
  NOT_A_FILE: 422,
  FILE_TOO_LARGE: 422,
  FILE_UNREADABLE: 403,
  BACKEND_NOT_INSTALLED: 503,
  BERTH_NOT_RUNNING: 503,
  INSUFFICIENT_DISK: 507,
  INSUFFICIENT_MEMORY: 422,
  CANCELLED: 499,
  SERVER_START_FAILED: 502,
  STARTUP_TIMEOUT: 504,
  SERVER_CRASHED: 502,
  LEFTOVER_PROCESS: 409,
  CUDA_OUT_OF_MEMORY: 507,
  // the built-in engine and Ollama
  MODEL_LOAD_FAILED: 422,
  MODEL_NOT_FOUND: 404,
  OUT_OF_MEMORY: 507,
  OLLAMA_IMPORT_FAILED: 502,
  KV_CACHE_TOO_SMALL: 422,
  SERVER_UNREACHABLE: 502,
  SERVER_ERROR: 502,
  SERVER_NOT_RUNNING: 409,
  NO_BASE_MODEL: 409,
  // converter (python/convert_to_gguf.py and core.conversion)
  TENSOR_MISSING: 422,
  TENSOR_SHAPE: 422,
  TOKENIZER_MISSING: 422,
  VOCAB_TOO_LARGE: 422,
  UNKNOWN_PRETOKENIZER: 422,
  TORCH_REQUIRED: 422,
  OUTPUT_NOT_WRITABLE: 403,
  LIBLLAMA_NOT_FOUND: 503,
  CONVERTER_ENV_MISSING: 503,
  QUANTIZE_FAILED: 500,
  CONVERSION_FAILED: 500,
  // quality reports (core.quality)
  EVAL_TEXT_INVALID: 422,
  EVAL_TEXT_TOO_SHORT: 422,
  VOCAB_MISMATCH: 422,
  REFERENCE_REQUIRED: 400,
  QUALITY_FAILED: 500,
  INTERNAL: 500,
} as const satisfies Record<string, number>;

/** HTTP status for an error code (500 for codes this table does not know). */
export function statusForCode(code: string): number {
  return (ERROR_STATUS as Record<string, number>)[code] ?? 500;
}

/** The body of every failed API response: `{ success: false, error }`. */
export const ErrorResponseSchema = z.object({ success: z.literal(false), error: BerthErrorSchema });
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
