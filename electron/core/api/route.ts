import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ZodType, z } from 'zod';
import { BerthError } from '../errors.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One documented route: its schemas validate the request and feed /api/openapi.json. */
export interface RouteSpec<B extends ZodType | undefined, Q extends ZodType | undefined> {
  method: Method;
  /** Fastify path, e.g. /api/servers/:id */
  path: string;
  summary: string;
  body?: B;
  query?: Q;
  /** Documented success response schema. */
  response?: ZodType;
  /** Documented success status (200 unless said). */
  status?: number;
}

type Infer<T> = T extends ZodType ? z.output<T> : undefined;

export interface RouteContext<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** The documented routes, in registration order. */
export class RouteTable {
  readonly routes: RouteSpec<ZodType | undefined, ZodType | undefined>[] = [];
  private readonly listeners = new Set<(route: string) => void>();

  constructor(private readonly app: FastifyInstance) {}

  /** Calls `listener` with "METHOD /path" each time a handler starts (tests check which ones ran). */
  onHandle(listener: (route: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a route whose body and query are parsed by zod before the handler runs. */
  add<B extends ZodType | undefined = undefined, Q extends ZodType | undefined = undefined>(
    spec: RouteSpec<B, Q>,
    handler: (ctx: RouteContext<Infer<B>, Infer<Q>>) => Promise<unknown> | unknown,
  ): void {
    this.routes.push(spec as RouteSpec<ZodType | undefined, ZodType | undefined>);
    this.app.route({
      method: spec.method,
      url: spec.path,
      handler: async (request, reply) => {
        for (const listener of this.listeners) listener(`${spec.method} ${spec.path}`);
        const body = spec.body ? parseOrThrow(spec.body, request.body ?? {}, 'body') : undefined;
        const query = spec.query ? parseOrThrow(spec.query, request.query ?? {}, 'query') : undefined;
        const result = await handler({
          body: body as Infer<B>,
          query: query as Infer<Q>,
          params: request.params as Record<string, string>,
          request,
          reply,
        });
        if (reply.sent) return reply;
        if (spec.status) reply.code(spec.status);
        return result;
      },
    });
  }
}

/** Parses a request part, turning the first zod issue into a 400 the caller can act on. */
export function parseOrThrow<T extends ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue && issue.path.length > 0 ? ` at ${where}.${issue.path.join('.')}` : ` in ${where}`;
  throw new BerthError(
    'INVALID_REQUEST',
    `Invalid request${at}: ${issue?.message ?? 'invalid'}`,
    'See /api/openapi.json for the expected shape.',
  );
}

/** Builds the OpenAPI 3.1 document from the route table. */
export function openApiDocument(table: RouteTable, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = {
    type: 'object',
    required: ['success', 'error'],
    properties: {
      success: { const: false },
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } },
      },
    },
  };
  for (const spec of table.routes) {
    const oaPath = spec.path.replace(/:(\w+)/g, '{$1}');
    const params = [...spec.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParams = spec.query ? queryParameters(spec.query) : [];
    const op: Record<string, unknown> = {
      summary: spec.summary,
      security: [{ bearer: [] }],
      parameters: [...params, ...queryParams],
      responses: {
        [String(spec.status ?? 200)]: {
          description: 'OK',
          ...(spec.response
            ? { content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } } }
            : {}),
        },
        '4XX': { description: 'Error', content: { 'application/json': { schema: errorSchema } } },
      },
    };
    if (spec.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } },
      };
    }
    paths[oaPath] = { ...paths[oaPath], [spec.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Berth local API', version },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

function jsonSchema(schema: ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

function queryParameters(schema: ZodType): Array<Record<string, unknown>> {
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema: s,
  }));
}
