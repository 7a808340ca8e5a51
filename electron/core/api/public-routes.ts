import { posix } from 'node:path';
import type { FastifyRequest } from 'fastify';

/** Route config of the few routes anyone on loopback may reach without the token (the static UI). */
export const PUBLIC_ROUTE = { public: true } as const;

/**
 * Whether a request may skip the token: only when the router matched a route marked public (the static UI)
 * and the path, decoded and normalised as any router or file server might, does not name the API. Unmatched
 * requests (the 404 handler) and every API route need the token. Deny by default.
 */
export function isPublicRequest(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as { public?: boolean } | undefined;
  if (config?.public !== true) return false;
  return !namesApi(request.url);
}

/** Whether a raw request target, however spelled, points into /api. Undecodable paths count as API. */
export function namesApi(rawUrl: string): boolean {
  let path = rawUrl.split(/[?#]/)[0] ?? '/';
  for (let i = 0; i < 3 && path.includes('%'); i++) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return true;
    }
  }
  const normalised = posix.normalize(`/${path.replace(/\\/g, '/')}`).toLowerCase();
  return /^\/api(?:[/;\s\0.]|$)/.test(normalised);
}
