import { z } from 'zod';

/** An absolute path (POSIX or Windows) without NUL; relative paths would resolve against Berth's own cwd. */
const AbsolutePath = z
  .string()
  .min(1)
  .refine((p) => !p.includes('\0'), 'must not contain NUL')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');

/** A TCP port a server can listen on. */
const Port = z.number().int().min(1).max(65535);

/** An http(s) URL with a host, e.g. Ollama's address (shared/ has no URL class: a pattern does it). */
const HttpUrl = z
  .string()
  .regex(
    /^https?:\/\/(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?(?:\/[^\s]*)?$/,
    'must be an http:// or https:// URL',
  );

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
      vllm: AbsolutePath.optional(),
      /** Python for the converter; unset means Berth's own venv (created on request). */
      converter: AbsolutePath.optional(),
    })
    .prefault({}),
  ollama: z
    .object({
      host: HttpUrl.default('http://127.0.0.1:11434'),
      /** The ollama binary; unset means `ollama` on PATH. */
      binary: AbsolutePath.optional(),
    })
    .prefault({}),
  ports: z
    .object({
      vllm: Port.default(8000),
      ollama: Port.default(11434),
      llamacpp: Port.default(8080),
    })
    .prefault({}),
  keep_servers_on_quit: z.boolean().default(false),
  auto_restart: z.boolean().default(false),
  /** Folders besides the home folder that the folder browser may show. */
  roots: z.array(AbsolutePath).default([]),
});
export type Settings = z.infer<typeof SettingsSchema>;

/** A partial update of settings (one level deep). */
export const SettingsPatchSchema = z
  .object({
    api: SettingsSchema.shape.api.unwrap().partial().optional(),
    // null clears an optional path (JSON has no undefined), going back to the default.
    python: z
      .object({ vllm: AbsolutePath.nullable(), converter: AbsolutePath.nullable() })
      .partial()
      .strict()
      .optional(),
    ollama: z.object({ host: HttpUrl, binary: AbsolutePath.nullable() }).partial().strict().optional(),
    ports: SettingsSchema.shape.ports.unwrap().partial().optional(),
    keep_servers_on_quit: z.boolean().optional(),
    auto_restart: z.boolean().optional(),
    roots: z.array(AbsolutePath).optional(),
  })
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatchSchema>;

/** Settings that name a program Berth runs. Changed over the HTTP API, they wait for the user's review. */
export const EXECUTABLE_SETTINGS = ['python.vllm', 'python.converter', 'ollama.binary'] as const;
export type ExecutableSetting = (typeof EXECUTABLE_SETTINGS)[number];

/** A program named over the HTTP API that Berth will not run until the user applies it in the window. */
export const PendingSettingSchema = z.object({
  key: z.enum(EXECUTABLE_SETTINGS),
  /** The new value; null means back to the default. */
  value: AbsolutePath.nullable(),
  changed_at: z.string(),
});
export type PendingSetting = z.infer<typeof PendingSettingSchema>;

/** Which pending setting to apply or discard. */
export const PendingKeySchema = z.object({ key: z.enum(EXECUTABLE_SETTINGS) }).strict();

/** What the window shows about the running Berth itself. */
export const AppInfoSchema = z.object({
  version: z.string(),
  mode: z.enum(['electron', 'headless']),
  home: z.string(),
  api_url: z.string().optional(),
  platform: z.string(),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;
