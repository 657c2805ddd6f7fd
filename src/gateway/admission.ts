import type { IncomingMessage } from 'node:http';

/** Why the edge checks refuse an upgrade: 403 for the origin, 429 for the per-address limits. */
export const EDGE_REFUSALS = ['origin', 'address_connections', 'address_rate', 'too_many_addresses'] as const;
export type EdgeRefusal = (typeof EDGE_REFUSALS)[number];

/** Why an upgrade was refused: 503 while draining or full, else an edge refusal. */
export const UPGRADE_REFUSALS = ['draining', 'max_connections', ...EDGE_REFUSALS] as const;
export type UpgradeRefusal = (typeof UPGRADE_REFUSALS)[number];

export interface Refusal {
  readonly reason: UpgradeRefusal;
  /** The whole HTTP response written to the socket in place of the upgrade. */
  readonly response: string;
}

export const SERVICE_UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\r\n';

export interface AdmissionOptions {
  /** gateway.allowedOrigins, as origins (URL.origin); empty: any. */
  readonly allowedOrigins: readonly string[];
  readonly maxConnectionsPerAddress: number;
  readonly upgradesPerSecondPerAddress: number;
}

/**
 * Addresses whose upgrade attempts of the current second are counted at most. Each entry
 * lives one second; a flood from more distinct addresses than this within one second is
 * refused (too_many_addresses) rather than let the table grow.
 */
export const MAX_TRACKED_ADDRESSES = 65_536;
const WINDOW_MS = 1000;

/** What an operator reads in the (throttled) warning of an edge refusal. */
export const REFUSAL_TEXT: Readonly<Record<EdgeRefusal, string>> = {
  origin: 'its Origin is not in gateway.allowedOrigins (HTTP 403)',
  address_connections: 'its address holds gateway.maxConnectionsPerAddress connections (HTTP 429)',
  address_rate: 'its address tried more than gateway.upgradesPerSecondPerAddress upgrades this second (HTTP 429)',
  too_many_addresses: 'too many distinct addresses tried to connect within one second (HTTP 429)',
};

const RESPONSES: Readonly<Record<EdgeRefusal, string>> = {
  origin: 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\norigin not allowed\n',
  address_connections: 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 5\r\n\r\n',
  address_rate: 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 1\r\n\r\n',
  too_many_addresses: 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 1\r\n\r\n',
};

/**
 * The gateway's edge checks of a WebSocket upgrade that do not depend on its clients' state:
 * the browser origin and the per-remote-address limits. Memory is bounded: connection counts
 * exist only for addresses with open connections (so at most gateway.maxConnections), and
 * rate windows only for addresses seen within the last second (at most MAX_TRACKED_ADDRESSES).
 */
export class Admission {
  private readonly origins: ReadonlySet<string>;
  private readonly connectionsByAddress = new Map<string, number>();
  private attempts = new Map<string, number>();
  private windowStart = 0;

  constructor(private readonly options: AdmissionOptions) {
    this.origins = new Set(options.allowedOrigins);
  }

  /** Addresses tracked now (open connections, attempts of this second), for tests and metrics. */
  get trackedAddresses(): number {
    return this.connectionsByAddress.size + this.attempts.size;
  }

  /** Why this upgrade is refused, or undefined; an admitted one counts as an attempt of its address. */
  refusal(req: IncomingMessage): (Refusal & { readonly reason: EdgeRefusal }) | undefined {
    const reason = this.reasonFor(req);
    return reason === undefined ? undefined : { reason, response: RESPONSES[reason] };
  }

  /** A connection of `address` was accepted. */
  opened(address: string): void {
    this.connectionsByAddress.set(address, (this.connectionsByAddress.get(address) ?? 0) + 1);
  }

  /** A connection of `address` ended. */
  closed(address: string): void {
    const count = (this.connectionsByAddress.get(address) ?? 0) - 1;
    if (count > 0) this.connectionsByAddress.set(address, count);
    else this.connectionsByAddress.delete(address);
  }

  private reasonFor(req: IncomingMessage): EdgeRefusal | undefined {
    if (!this.originAllowed(req.headers.origin)) return 'origin';
    const address = addressOf(req);
    if ((this.connectionsByAddress.get(address) ?? 0) >= this.options.maxConnectionsPerAddress) return 'address_connections';
    return this.countAttempt(address);
  }

  /** Requests without Origin are not from a browser page, which is what the list defends against. */
  private originAllowed(origin: string | undefined): boolean {
    return this.origins.size === 0 || origin === undefined || this.origins.has(origin.toLowerCase());
  }

  private countAttempt(address: string): EdgeRefusal | undefined {
    const now = Date.now();
    // One table per second, replaced whole: expiry costs nothing per entry.
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.attempts = new Map();
    }
    const count = this.attempts.get(address);
    if (count === undefined && this.attempts.size >= MAX_TRACKED_ADDRESSES) return 'too_many_addresses';
    if ((count ?? 0) >= this.options.upgradesPerSecondPerAddress) return 'address_rate';
    this.attempts.set(address, (count ?? 0) + 1);
    return undefined;
  }
}

/** The peer's address as the socket reports it (a proxy in front makes every client the proxy's address). */
export function addressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** An origin as browsers send it (scheme://host[:port], no path), or undefined. */
export function originOf(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (!/^https?:$/.test(url.protocol) || url.origin === 'null') return undefined;
  return url.origin === value.toLowerCase() ? url.origin : undefined;
}
