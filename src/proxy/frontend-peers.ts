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
 * Who is connected to the frontend, from its monitor events: local feeds that connected to its
 * bound endpoint, and the links it made itself to upstream proxies (proxy.upstream). libzmq
 * names a connection by one address in all its events: for an accepted one the local address
 * (tcp://127.0.0.1:5555 under a tcp://0.0.0.0:5555 bind), for an outgoing one the address its
 * 'connect' event announced, which after a reconnection is the resolved one (tcp://10.1.2.3:5556
 * for tcp://root-a:5556). So an outgoing connection is known by its 'connect' event, and matched
 * to its configured upstream by port and, when several upstreams share the port, by resolving
 * their hosts. ZMTP heartbeats turn a silent upstream into a 'disconnect' within
 * zmq.heartbeatTimeoutMs.
 */
export class FrontendPeers {
  private readonly upstreams = new Map<string, { connected: boolean; connects: number }>();
  /** Outgoing connections open now, by address, with the upstream each belongs to. */
  private readonly outgoing = new Map<string, Promise<string | undefined>>();
  private readonly listeners: ((state: UpstreamState) => void)[] = [];
  private readonly warnings: ThrottledWarning;
  /** Upstream events apply in order even when one of them waits for a lookup. */
  private applied: Promise<void> = Promise.resolve();
  private localPublishers = 0;

  constructor(
    endpoints: readonly string[],
    private readonly log: Logger,
    private readonly lookupHost: HostLookup = systemLookup,
  ) {
    for (const endpoint of endpoints) this.upstreams.set(endpoint, { connected: false, connects: 0 });
    this.warnings = new ThrottledWarning(log);
  }

  /** Follows the frontend's events, and only this frontend's; call before it connects anywhere. */
  watch(frontend: XSubscriber): void {
    // A frontend rebuilt after a key was revoked (see startProxy) starts with no connections.
    this.localPublishers = 0;
    this.outgoing.clear();
    for (const [endpoint, state] of this.upstreams) if (state.connected) this.enqueue(Promise.resolve(endpoint), endpoint, false);
    frontend.events.on('accept', () => this.localPublishers++);
    frontend.events.on('connect', ({ address }) => this.outgoing.set(address, this.endpointOf(address)));
    frontend.events.on('handshake', ({ address }) => {
      const endpoint = this.outgoing.get(address);
      if (endpoint !== undefined) this.enqueue(endpoint, address, true);
    });
    frontend.events.on('disconnect', ({ address }) => {
      const endpoint = this.outgoing.get(address);
      if (endpoint === undefined) {
        this.localPublishers--;
        return;
      }
      this.outgoing.delete(address);
      this.enqueue(endpoint, address, false);
    });
  }

  /** Feeds connected to the bound frontend now; upstream links not included. */
  publishers(): number {
    return this.localPublishers;
  }

  list(): UpstreamState[] {
    return [...this.upstreams].map(([endpoint, state]) => ({ endpoint, ...state }));
  }

  /** At least one upstream is connected, or none is configured. */
  anyUpstreamConnected(): boolean {
    return this.upstreams.size === 0 || [...this.upstreams.values()].some((state) => state.connected);
  }

  onUpstreamChange(listener: (state: UpstreamState) => void): void {
    this.listeners.push(listener);
  }

  private enqueue(endpoint: Promise<string | undefined>, address: string, connected: boolean): void {
    this.applied = this.applied.then(async () => this.apply(await endpoint, address, connected));
  }

  private apply(endpoint: string | undefined, address: string, connected: boolean): void {
    const state = endpoint === undefined ? undefined : this.upstreams.get(endpoint);
    if (endpoint === undefined || state === undefined) {
      this.warnings.warn('upstream_unknown_address', { address }, 'frontend connected to an address that matches no proxy.upstream endpoint');
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
    if (this.upstreams.has(address)) return address;
    const at = tcpHostPort(address);
    if (at === undefined) return undefined;
    const candidates = [...this.upstreams.keys()].filter((endpoint) => tcpHostPort(endpoint)?.port === at.port);
    if (candidates.length <= 1) return candidates[0];
    const ip = unbracketed(at.host);
    for (const endpoint of candidates) {
      const addresses: readonly string[] = await this.lookupHost(unbracketed(tcpHostPort(endpoint)!.host)).catch(() => []);
      if (addresses.includes(ip)) return endpoint;
    }
    return undefined;
  }
}

function unbracketed(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}
