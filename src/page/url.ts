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

/** The query parameter naming the instrument (`VENUE.SYMBOL`) of the depth view, so a depth view can be linked to. */
export const DEPTH_PARAM = 'depth';

/** The instrument `href` opens the depth view of, if any. */
export function depthOfUrl(href: string): string | undefined {
  return new URL(href).searchParams.get(DEPTH_PARAM) || undefined;
}

/** `href` opening the depth view of `instrument`, or none when undefined. */
export function urlWithDepth(href: string, instrument: string | undefined): string {
  const url = new URL(href);
  if (instrument === undefined) url.searchParams.delete(DEPTH_PARAM);
  else url.searchParams.set(DEPTH_PARAM, instrument);
  return url.toString();
}
