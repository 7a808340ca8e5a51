import { z } from 'zod';

/** Berth's persisted settings. Every field has a default, so an empty store is a valid one. */
export const SettingsSchema = z.object({
  /** The local HTTP API. Binds loopback unless the user opts in to another host. */
  api: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(7420),
    })
    .prefault({}),
  python: z
    .object({
      /** Python with vLLM installed; unset means `python3` on PATH. */
      vllm: z.string().optional(),
      /** Python for the converter; unset means Berth's own venv (created on request). */
      converter: z.string().optional(),
    })
    .prefault({}),
  ollama: z
    .object({
      host: z.string().default('http://127.0.0.1:11434'),
      /** The ollama binary; unset means `ollama` on PATH. */
      binary: z.string().optional(),
    })
    .prefault({}),
  ports: z
    .object({
      vllm: z.number().int().default(8000),
      ollama: z.number().int().default(11434),
      llamacpp: z.number().int().default(8080),
    })
    .prefault({}),
  keep_servers_on_quit: z.boolean().default(false),
  auto_restart: z.boolean().default(false),
  /** Folders besides the home folder that the folder browser may show. */
  roots: z.array(z.string()).default([]),
});
export type Settings = z.infer<typeof SettingsSchema>;

/** A partial update of settings (one level deep). */
export const SettingsPatchSchema = z
  .object({
    api: SettingsSchema.shape.api.unwrap().partial().optional(),
    // null clears an optional path (JSON has no undefined), going back to the default.
    python: z
      .object({ vllm: z.string().min(1).nullable(), converter: z.string().min(1).nullable() })
      .partial()
      .strict()
      .optional(),
    ollama: z
      .object({ host: z.string().min(1), binary: z.string().min(1).nullable() })
      .partial()
      .strict()
      .optional(),
    ports: SettingsSchema.shape.ports.unwrap().partial().optional(),
    keep_servers_on_quit: z.boolean().optional(),
    auto_restart: z.boolean().optional(),
    roots: z.array(z.string()).optional(),
  })
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatchSchema>;

/** What the window shows about the running Berth itself. */
export const AppInfoSchema = z.object({
  version: z.string(),
  mode: z.enum(['electron', 'headless']),
  home: z.string(),
  api_url: z.string().optional(),
  platform: z.string(),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;
