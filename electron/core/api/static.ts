import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { namesApi, PUBLIC_ROUTE } from './public-routes.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** The same policy the Electron window sets: our own scripts only, API calls to our own origin. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Serves the built renderer from `root`; unknown non-API paths get index.html (client-side routing). */
export function registerStatic(app: FastifyInstance, root: string): void {
  const base = resolve(root);
  app.get('/*', { config: PUBLIC_ROUTE }, (request, reply) => {
    if (namesApi(request.url)) {
      return reply
        .code(404)
        .send({ success: false, error: { code: 'NOT_FOUND', message: 'No such API route' } });
    }
    const urlPath = safeDecode(request.url.split('?')[0] ?? '/');
    let file = resolve(join(base, normalize(urlPath)));
    if (file !== base && !file.startsWith(base + sep)) file = join(base, 'index.html');
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(base, 'index.html');
    if (!existsSync(file)) {
      return reply.code(503).type('text/plain').send('The Berth UI is not built. Run: npm run build');
    }
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600');
    return reply.type(TYPES[extname(file)] ?? 'application/octet-stream').send(createReadStream(file));
  });
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return '/';
  }
}
