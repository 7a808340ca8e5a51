import { isIP } from 'node:net';

/** Host names a loopback-bound API answers to; anything else is a DNS-rebinding attempt. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Splits a Host header into name and port ("[::1]:7420" -> "[::1]", "7420"). */
export function parseHostHeader(
  host: string | undefined,
): { name: string; port: string | undefined } | undefined {
  if (!host) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim().toLowerCase());
  if (!match) return undefined;
  return { name: match[1]!, port: match[2] };
}

/**
 * Whether a request's Host header names this server. `bindHost` is the address the user opted in to bind
 * (besides loopback); a wildcard bind accepts any IP literal but still refuses DNS names.
 */
export function hostAllowed(host: string | undefined, bindHost: string): boolean {
  const parsed = parseHostHeader(host);
  if (!parsed) return false;
  if (LOOPBACK_HOSTS.has(parsed.name)) return true;
  const bare = parsed.name.replace(/^\[|\]$/g, '');
  if (bindHost === '0.0.0.0' || bindHost === '::') return isIP(bare) !== 0;
  return bare === bindHost.toLowerCase();
}

/**
 * Whether a request's Origin may talk to the API. No Origin (curl, the CLI, same-origin GETs) is fine; a
 * browser page may only call us from our own origin. There is no CORS: foreign origins are refused outright.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!host) return false;
  try {
    const url = new URL(origin);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && url.host.toLowerCase() === host.toLowerCase()
    );
  } catch {
    return false;
  }
}

/** The bearer token from an Authorization header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
