import type { FastifyReply, FastifyRequest } from 'fastify';

/** An open Server-Sent-Events response. */
export interface SseStream {
  send(data: unknown, event?: string): void;
  close(): void;
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

/**
 * Takes over a reply as an SSE stream: heartbeats keep proxies and SSH tunnels from closing it, and every
 * listener registered with onClose runs once when either side ends it.
 */
export function openSse(_request: FastifyRequest, reply: FastifyReply, heartbeatMs = 15_000): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': berth\n\n');
  const closers: Array<() => void> = [];
  let closed = false;
  const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const fn of closers) fn();
    res.end();
  };
  // The response's close, not the request's: a POST's request closes as soon as its body is read.
  res.on('close', finish);
  res.on('error', finish);
  return {
    send(data, event) {
      if (closed) return;
      res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    close: finish,
    get closed() {
      return closed;
    },
    onClose: (fn) => void closers.push(fn),
  };
}
