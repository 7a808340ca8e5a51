import Fastify, { type FastifyInstance } from 'fastify';
import { statusForCode } from '../../../shared/errors.js';
import type { Core } from '../app.js';
import { BerthError, toErrorShape } from '../errors.js';
import { clientError, errorBody, frameworkError } from './framework-errors.js';
import { bearerToken, hostAllowed, originAllowed } from './guards.js';
import { isPublicRequest } from './public-routes.js';
import { openApiDocument, RouteTable } from './route.js';
import { registerAppRoutes } from './routes/app.js';
import { registerCheckpointRoutes } from './routes/checkpoints.js';
import { registerConversionRoutes } from './routes/conversion.js';
import { registerDeployRoutes } from './routes/deploy.js';
import { registerPlaygroundRoutes } from './routes/playground.js';
import { registerQualityRoutes } from './routes/quality.js';
import { registerServerRoutes } from './routes/servers.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerStatic } from './static.js';
import { ensureToken, tokenMatches } from './token.js';

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** The built renderer to serve at / (headless mode); omitted in Electron, whose window loads files. */
  staticDir?: string;
  /** Largest accepted request body. */
  bodyLimit?: number;
}

export interface ApiServer {
  app: FastifyInstance;
  url: string;
  port: number;
  token: string;
  /** Every route that needs the token (the whole documented API). */
  routes: ReadonlyArray<{ method: string; path: string }>;
  /** Calls `listener` with "METHOD /path" whenever a route's handler starts. */
  onHandled(listener: (route: string) => void): () => void;
  close(): Promise<void>;
}

/** A route module: adds its routes to the table with access to the whole core. */
export type RouteModule = (table: RouteTable, core: Core) => void;

/** Route modules of later issues register here (checkpoints, system, deploy, servers). */
export const routeModules: RouteModule[] = [
  registerAppRoutes,
  registerCheckpointRoutes,
  registerDeployRoutes,
  registerServerRoutes,
  registerConversionRoutes,
  registerSystemRoutes,
  registerPlaygroundRoutes,
  registerQualityRoutes,
];

/**
 * The local HTTP API: loopback by default, bearer token, Host and Origin checks, no CORS, size-limited bodies,
 * every body validated by the shared schemas, every failure as `{ success: false, error }`.
 */
export async function startApiServer(core: Core, options: ApiServerOptions = {}): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const token = ensureToken(core.paths.tokenFile);
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logger: false,
    forceCloseConnections: true,
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!hostAllowed(request.headers.host, host)) {
      return reply
        .code(403)
        .send(errorBody('FORBIDDEN_HOST', 'Host not allowed', 'Use http://127.0.0.1 or http://localhost.'));
    }
    if (!originAllowed(request.headers.origin, request.headers.host)) {
      return reply.code(403).send(errorBody('FORBIDDEN_ORIGIN', 'Cross-origin requests are refused'));
    }
    // Decided by the route the router matched, never by the raw URL: the router decodes and normalises the
    // path (`/%61pi/settings` is `/api/settings`), so any check on the raw string can be walked around.
    if (isPublicRequest(request)) return;
    if (!tokenMatches(bearerToken(request.headers.authorization), currentToken())) {
      return reply
        .code(401)
        .send(
          errorBody(
            'UNAUTHORIZED',
            'Missing or wrong API token',
            `Send "Authorization: Bearer <token>"; the token is in ${core.paths.tokenFile} and in Berth's Settings.`,
          ),
        );
    }
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof BerthError)
      return reply.code(error.status).send({ success: false, error: error.toJSON() });
    const fe = error as { statusCode?: number; code?: string; message?: string };
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply
        .code(413)
        .send(errorBody('PAYLOAD_TOO_LARGE', 'Request body too large', 'Bodies are limited to 1 MiB.'));
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send(errorBody('INVALID_REQUEST', fe.message ?? 'Invalid request'));
    }
    process.stderr.write(
      `[berth api] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    const shape = toErrorShape(error);
    return reply.code(statusForCode(shape.code)).send({ success: false, error: shape });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // JSON bodies only; an empty body on POST is an empty object.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch {
      done(new BerthError('INVALID_REQUEST', 'Body is not valid JSON'), undefined);
    }
  });

  const table = new RouteTable(app);
  for (const register of routeModules) register(table, core);
  table.add({ method: 'GET', path: '/api/openapi.json', summary: 'This OpenAPI document' }, () =>
    openApiDocument(table, core.info().version),
  );
  if (options.staticDir) registerStatic(app, options.staticDir);

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  // The token may be regenerated from Settings while we run: read it through the file each time it changes.
  let cached = token;
  function currentToken(): string {
    return cached;
  }
  const unsubscribe = core.bus.subscribe((event) => {
    if (event.type === 'settings.changed') cached = ensureToken(core.paths.tokenFile);
  });

  return {
    app,
    url,
    port,
    get token() {
      return cached;
    },
    routes: table.routes.map(({ method, path }) => ({ method, path })),
    onHandled: (listener) => table.onHandle(listener),
    async close() {
      unsubscribe();
      await app.close();
    },
  };
}
