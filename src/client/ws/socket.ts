/**
 * The part of the WebSocket API this client uses: the browser's standard interface, which
 * the `ws` package implements too. Nothing Node-specific is needed, so the same code runs
 * against `globalThis.WebSocket` (browsers, Deno, Node >= 22) and against `ws` (Node 20).
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType?: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection at once, without a closing handshake. */
  terminate?(): void;
}

/**
 * A WebSocket constructor: the browser's (`url, protocols`) or `ws`'s, which takes a third
 * argument of Node options (headers, TLS, agent) passed from `ConnectOptions.socketOptions`.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: never) => WebSocketLike;

/** readyState of an open socket (the same in every implementation). */
export const OPEN = 1;

/** The global WebSocket when there is one (browsers, Node >= 22), else undefined. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}

/**
 * The `ws` package, loaded on first use only where there is no global WebSocket (Node 20).
 * The specifier is a variable so that bundlers building for the browser, where the global
 * exists, do not try to bundle `ws`.
 */
let wsModule: Promise<WebSocketConstructor> | undefined;
export function loadWs(): Promise<WebSocketConstructor> {
  const specifier = 'ws';
  wsModule ??= (import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<{ default?: unknown; WebSocket?: unknown }>).then(
    (mod) => {
      const ctor = mod.WebSocket ?? mod.default;
      if (typeof ctor !== 'function') throw new Error('the ws package does not export a WebSocket class');
      return ctor as WebSocketConstructor;
    },
    (err: Error) => {
      wsModule = undefined;
      throw new Error(`no global WebSocket and the ws package cannot be loaded (npm install ws, or pass options.WebSocket): ${err.message}`);
    },
  );
  return wsModule;
}
