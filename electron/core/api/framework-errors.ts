import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Berth's documented error body. */
export function errorBody(code: string, message: string, hint?: string) {
  return { success: false as const, error: { code, message, ...(hint ? { hint } : {}) } };
}

/** Errors the router raises before any route runs (an undecodable path, an overlong parameter). */
export function frameworkError(
  error: Error & { code?: string; statusCode?: number },
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status =
    error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const code = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'URI_TOO_LONG' : 'INVALID_REQUEST';
  void reply
    .code(status)
    .send(
      errorBody(
        code,
        'The request path is malformed',
        'Percent-encode the path (RFC 3986), e.g. %25 for "%".',
      ),
    );
}

const CLIENT_ERRORS: Record<string, [number, string, string, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'HEADERS_TOO_LARGE',
    'Request headers are too large',
    'Send fewer or shorter headers (16 KiB in all).',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'Request Timeout',
    'REQUEST_TIMEOUT',
    'The request took too long to arrive',
    'Send the whole request at once.',
  ],
};

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (too-long headers, garbage on the socket),
 * answered in Berth's error shape instead of the framework's, then the connection is closed.
 */
export function clientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message, hint] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'Bad Request',
    'INVALID_REQUEST',
    'The request is not valid HTTP',
    'Send an HTTP/1.1 request.',
  ];
  const body = JSON.stringify(errorBody(code, message, hint));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
