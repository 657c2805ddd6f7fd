import { lookup } from 'node:dns/promises';
import type { XSubscriber } from 'zeromq';
import { ThrottledWarning, type Logger } from '../log/index.js';
import { tcpHostPort } from './endpoint.js';

/** One configured upstream (proxy.upstream) as the frontend's monitor events report it. */
export interface UpstreamState {
  readonly endpoint: string;
  /** A ZMTP handshake succeeded and the connection has not dropped since. */
  readonly connected: boolean;
  /** Handshakes so far: one per (re)connection. */
  readonly connects: number;
}

/** The addresses a host name resolves to; replaceable so tests need no DNS of their own. */
export type HostLookup = (host: string) => Promise<readonly string[]>;

const systemLookup: HostLookup = async (host) => (await lookup(host, { all: true })).map((found) => found.address);

/**
 * The state of the frontend's links to upstream proxies, from the socket's monitor events
 * ('handshake', 'disconnect'); ZMTP heartbeats turn a silent upstream into a 'disconnect'
 * within zmq.heartbeatTimeoutMs. libzmq names a reconnection by the address it resolved
 * (tcp://10.1.2.3:5556 for tcp://root-a:5556), so an address that is no configured endpoint
 * is matched by port and, when several upstreams share the port, by resolving their hosts.
 */
export class UpstreamLinks {
  private readonly states = new Map<string, { connected: boolean; connects: number }>();
  private readonly listeners: ((state: UpstreamState) => void)[] = [];
  private readonly warnings: ThrottledWarning;
  /** Events apply in order even when one of them waits for a lookup. */
  private applied: Promise<void> = Promise.resolve();

  constructor(
    endpoints: readonly string[],
    private readonly log: Logger,
    private readonly lookupHost: HostLookup = systemLookup,
  ) {
    for (const endpoint of endpoints) this.states.set(endpoint, { connected: false, connects: 0 });
    this.warnings = new ThrottledWarning(log);
  }

  /**
   * Follows the frontend's events. Those of `localEndpoint`, where the frontend is bound, are
   * local feeds' connections; every other one is a link this socket made to an upstream.
   */
  watch(frontend: XSubscriber, localEndpoint: string): void {
    frontend.events.on('handshake', ({ address }) => {
      if (address !== localEndpoint) this.enqueue(address, true);
    });
    frontend.events.on('disconnect', ({ address }) => {
      if (address !== localEndpoint) this.enqueue(address, false);
    });
  }

  list(): UpstreamState[] {
    return [...this.states].map(([endpoint, state]) => ({ endpoint, ...state }));
  }

  /** At least one upstream is connected, or none is configured. */
  anyConnected(): boolean {
    return this.states.size === 0 || [...this.states.values()].some((state) => state.connected);
  }

  onChange(listener: (state: UpstreamState) => void): void {
    this.listeners.push(listener);
  }

  private enqueue(address: string, connected: boolean): void {
    this.applied = this.applied.then(async () => this.apply(await this.endpointOf(address), address, connected));
  }

  private apply(endpoint: string | undefined, address: string, connected: boolean): void {
    const state = endpoint === undefined ? undefined : this.states.get(endpoint);
    if (endpoint === undefined || state === undefined) {
      this.warnings.warn('upstream_unknown_address', { address }, 'frontend connection event for an address that is no proxy.upstream endpoint');
      return;
    }
    if (!connected && !state.connected) {
      // libzmq refuses a handshake with an incompatible socket type by closing the connection.
      this.warnings.warn(`upstream_refused ${endpoint}`, { endpoint, address },
        'upstream closed the connection before the ZMTP handshake completed: is it a proxy backend (XPUB)? (setting proxy.upstream)');
      return;
    }
    state.connected = connected;
    if (connected) state.connects++;
    if (connected) this.log.info({ endpoint, address }, 'upstream connected');
    else this.log.warn({ endpoint, address }, 'upstream disconnected');
    for (const listener of this.listeners) listener({ endpoint, ...state });
  }

  private async endpointOf(address: string): Promise<string | undefined> {
    if (this.states.has(address)) return address;
    const port = tcpHostPort(address)?.port;
    const candidates = [...this.states.keys()].filter((endpoint) => port !== undefined && tcpHostPort(endpoint)?.port === port);
    if (candidates.length <= 1) return candidates[0];
    const ip = tcpHostPort(address)!.host.replace(/^\[(.*)\]$/, '$1');
    for (const endpoint of candidates) {
      const host = tcpHostPort(endpoint)!.host.replace(/^\[(.*)\]$/, '$1');
      const addresses: readonly string[] = await this.lookupHost(host).catch(() => []);
      if (addresses.includes(ip)) return endpoint;
    }
    return undefined;
  }
}
