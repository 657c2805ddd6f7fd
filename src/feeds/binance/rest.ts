import type { BookLevel } from '../../wire/index.js';
import { UpstreamReject, field, integer, messageObject } from '../exchange/feed.js';
import { levels } from '../exchange/levels.js';

/** Binance's REST order book, GET /api/v3/depth: the book as of update id `lastUpdateId`. */
export interface DepthSnapshot {
  readonly lastUpdateId: number;
  readonly bids: BookLevel[];
  readonly asks: BookLevel[];
}

export interface DepthRequest {
  /** REST base URL, e.g. https://api.binance.com. */
  readonly restUrl: string;
  /** Upper-case symbol, e.g. BTCUSDT. */
  readonly symbol: string;
  /** Levels per side (Binance takes 5, 10, 20, 50, 100, 500, 1000 or 5000). */
  readonly limit: number;
  /** A reply not complete after this long is given up (a snapshot that never comes). */
  readonly timeoutMs: number;
  /** Aborts the request when the feed stops or the sync starts over. */
  readonly signal: AbortSignal;
}

/**
 * Fetches one depth snapshot. Every way it can fail rejects with an UpstreamReject naming it:
 * `rest_timeout`, `rest_error` (network), `rest_http` (a status other than 200), `rest_json`,
 * `rest_shape` and `field` (a reply that is not the documented shape). An abort through
 * `signal` rejects with the AbortError of the abort, which is no upstream fault.
 */
export async function fetchDepthSnapshot(request: DepthRequest): Promise<DepthSnapshot> {
  const url = `${request.restUrl.replace(/\/+$/, '')}/api/v3/depth?symbol=${encodeURIComponent(request.symbol)}&limit=${request.limit}`;
  const timeout = AbortSignal.timeout(request.timeoutMs);
  let body: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.any([request.signal, timeout]) });
    body = await response.text();
    if (response.status !== 200) throw new UpstreamReject('rest_http', `GET ${url}: HTTP ${response.status}: ${body.slice(0, 120)}`);
  } catch (err) {
    if (err instanceof UpstreamReject || request.signal.aborted) throw err;
    if (timeout.aborted) throw new UpstreamReject('rest_timeout', `GET ${url}: no complete reply within ${request.timeoutMs} ms`);
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new UpstreamReject('rest_error', `GET ${url}: ${(err as Error).message}${cause === undefined ? '' : `: ${cause}`}`);
  }
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    throw new UpstreamReject('rest_json', `GET ${url}: the reply is not JSON: ${body.slice(0, 80)}`);
  }
  return depthSnapshot(reply, request.symbol);
}

/** The snapshot of a parsed reply {lastUpdateId, bids: [[price, qty]], asks: [...]}, or an UpstreamReject. */
function depthSnapshot(reply: unknown, symbol: string): DepthSnapshot {
  let object: Record<string, unknown>;
  try {
    object = messageObject(reply);
  } catch (err) {
    throw new UpstreamReject('rest_shape', `${symbol} depth snapshot: ${(err as Error).message}`);
  }
  return { lastUpdateId: field(object, 'lastUpdateId', integer), bids: levels(object, 'bids'), asks: levels(object, 'asks') };
}
