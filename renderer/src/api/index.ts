import type { BerthApi } from '../../../shared/api.js';
import { createHttpBridge } from './http-bridge.js';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser. */
    berth?: BerthApi;
  }
}

const TOKEN_KEY = 'berth.token';

/**
 * The one BerthApi the renderer uses: the preload's in Electron, else the HTTP bridge with the token from the
 * URL fragment (`berth serve` prints it) or from this tab's session storage.
 */
export function resolveApi(): BerthApi | { error: string } {
  if (window.berth) return window.berth;
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]!));
    history.replaceState(null, '', `${window.location.pathname}#/checkpoints`);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token)
    return { error: 'No API token. Open the address `berth serve` printed (it ends in #token=...).' };
  return createHttpBridge(window.location.origin, token, (next) => sessionStorage.setItem(TOKEN_KEY, next));
}

let api: BerthApi | undefined;

/** The API chosen at start-up. */
export function getApi(): BerthApi {
  if (!api) throw new Error('Berth API used before start-up chose one');
  return api;
}

export function setApi(value: BerthApi): void {
  api = value;
}
