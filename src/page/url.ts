import { WS_PATH } from '../client/ws/index.js';

/**
 * The gateway's WebSocket URL for a page whose base URL is `baseUri` (document.baseURI):
 * v1/ws relative to it, so the page works under a reverse proxy's path prefix, and at the
 * gateway.publicBaseUrl the gateway puts in the page's `<base href>`.
 */
export function gatewaySocketUrl(baseUri: string): string {
  const url = new URL(WS_PATH.slice(1), baseUri);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.toString();
}
