import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { BrowseQuerySchema, RegisterJobRequestSchema } from '../../shared/checkpoints.js';
import type { ApiMethod } from '../../shared/ipc.js';
import { EXECUTABLE_SETTINGS, SettingsPatchSchema } from '../../shared/settings.js';
import { RecommendRequestSchema } from '../../shared/system.js';
import { parseOrThrow } from './api/route.js';
import { ensureToken, regenerateToken } from './api/token.js';
import type { Core } from './app.js';
import { startConverterSetup } from './conversion/setup.js';
import { qualityOf } from './quality/requests.js';

/** One BerthApi method as the core implements it: arguments validated, then the service called. */
export type ApiHandler = (...args: unknown[]) => Promise<unknown> | unknown;

/**
 * The BerthApi methods in the core, for the IPC transport (the HTTP transport calls the same services from its
 * routes). Each validates its arguments with the shared schemas, as untrusted input. Later issues add theirs.
 */
export function createApiHandlers(core: Core): Partial<Record<ApiMethod, ApiHandler>> {
  return {
    'app.info': () => core.info(),
    'settings.get': () => core.settings.get(),
    'settings.update': (patch) =>
      core.settings.update(parseOrThrow(SettingsPatchSchema, patch, 'settings'), 'local'),
    'settings.pending': () => core.settings.pending(),
    'settings.applyPending': (key) => core.settings.applyPending(parseOrThrow(PendingKeyArg, key, 'key')),
    'settings.discardPending': (key) =>
      void core.settings.discardPending(parseOrThrow(PendingKeyArg, key, 'key')),
    'jobs.register': (path) =>
      core.jobs.register(parseOrThrow(RegisterJobRequestSchema, { path }, 'args').path),
    'jobs.list': () => core.jobs.list(),
    'jobs.get': (id) => core.jobs.get(parseOrThrow(IdArg, id, 'id')),
    'jobs.remove': (id) => core.jobs.remove(parseOrThrow(IdArg, id, 'id')),
    'jobs.browse': (path) =>
      core.jobs.browse(parseOrThrow(BrowseQuerySchema, path === undefined ? {} : { path }, 'args').path),
    'settings.token': () => ensureToken(core.paths.tokenFile),
    'settings.regenerateToken': () => {
      const token = regenerateToken(core.paths.tokenFile);
      core.bus.emit({ type: 'settings.changed' });
      return token;
    },
    'conversions.env': () => core.conversion.env(),
    'conversions.setup': () => void startConverterSetup(core),
    'conversions.cache': () => core.conversion.cache.list(),
    'conversions.removeCached': (id) => core.conversion.cache.remove(parseOrThrow(IdArg, id, 'id')),
    'deployments.start': (request) => ({ deployment_id: core.deploy.start(request).id }),
    'deployments.wait': (id) => core.deploy.get(parseOrThrow(IdArg, id, 'id')).done,
    'deployments.cancel': async (id) => void (await core.deploy.cancel(parseOrThrow(IdArg, id, 'id'))),
    'deployments.skipQuality': (id) => void core.deploy.skipQuality(parseOrThrow(IdArg, id, 'id')),
    'system.get': (options) =>
      core.system.report({ refresh: parseOrThrow(SystemGetArg, options ?? {}, 'options').refresh ?? false }),
    'system.recommend': async (request) => {
      const r = parseOrThrow(RecommendRequestSchema, request, 'request');
      const checkpoint = await core.jobs.resolve(r);
      return core.system.recommend(checkpoint, {
        ...(r.context_length ? { context_length: r.context_length } : {}),
        ...(r.parallel ? { parallel: r.parallel } : {}),
      });
    },
    'servers.list': () => core.servers.list(),
    'servers.stop': (id) => core.servers.stop(parseOrThrow(IdArg, id, 'id')),
    'servers.restart': (id) => core.servers.restart(parseOrThrow(IdArg, id, 'id')),
    'servers.remove': async (id) => void (await core.servers.remove(parseOrThrow(IdArg, id, 'id'))),
    'quality.reports': (modelPath) =>
      qualityOf(core).reportsFor(parseOrThrow(AbsolutePathArg, modelPath, 'model_path')),
    'servers.logs': (id, tail) =>
      core.servers.logs(parseOrThrow(IdArg, id, 'id'), parseOrThrow(TailArg, tail, 'tail')),
  };
}

/** A pending setting's key. */
const PendingKeyArg = z.enum(EXECUTABLE_SETTINGS);

/** system.get's options. */
const SystemGetArg = z.object({ refresh: z.boolean().optional() }).strict();

/** An absolute path argument (a relative one would resolve against Berth's working folder). */
const AbsolutePathArg = z
  .string()
  .min(1)
  .refine((p) => isAbsolute(p), { message: 'must be an absolute path' });

/** Validates a single id argument. */
export const IdArg = z.string().min(1).max(200);
/** Validates an optional number of log lines. */
export const TailArg = z.number().int().min(1).max(5_000).optional();
