import { Proxy as NativeProxy, XPublisher, XSubscriber } from 'zeromq';
import type { ZmqSocketOptions } from '../config/index.js';
import { FabricSecurity, reopenRetrying, setForNextConnect } from '../curve/index.js';
import type { Logger } from '../log/index.js';
import { offerLocalBackend } from '../util/local-backends.js';
import { SendQueue } from '../wire/index.js';
import { FrontendPeers, type UpstreamState } from './frontend-peers.js';
import { LocalReaders, SUBSCRIBE } from './local-readers.js';

/**
 * See docs/architecture.md, Proxy mode: native is libzmq's zmq_proxy on a worker thread, js a
 * forwarding loop that counts and hands each message to the proxy's readers in its own process
 * directly; auto (the role's choice) is js when the process runs such readers, native otherwise.
 */
export const PROXY_MODES = ['auto', 'native', 'js'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
export type ForwardingMode = Exclude<ProxyMode, 'auto'>;

export interface ProxyOptions {
  /** Bind endpoint of the XSUB frontend that feeds' publishers connect to. */
  readonly frontend: string;
  /** Bind endpoint of the XPUB backend that subscribers connect to. */
  readonly backend: string;
  /**
   * Backends (XPUB) of upstream proxies the frontend connects to, so this proxy is a node of a
   * tree; none when absent. The frontend is bound all the same, for local feeds.
   */
  readonly upstream?: readonly string[];
  readonly frontendHwm: number;
  readonly backendHwm: number;
  /** Linger and TCP keepalives of both sockets. */
  readonly socket: ZmqSocketOptions;
  /**
   * ZMTP heartbeats of the frontend when it has upstreams, so a silent upstream (stopped,
   * partitioned) is noticed. Unlike a JavaScript subscriber, libzmq's own forwarding thread
   * reads its queue at once, so that queue does not sit full for the heartbeat timeout (the
   * condition of zeromq/libzmq#3937, src/util/keepalive.ts).
   */
  readonly upstreamHeartbeat?: { readonly intervalMs: number; readonly timeoutMs: number };
  /** See docs/architecture.md: native is libzmq's zmq_proxy on a worker thread, js a forwarding loop. */
  readonly mode: ForwardingMode;
}

export interface RunningProxy {
  /** The endpoints actually bound (a `:*` port resolved to the one the OS chose). */
  readonly frontendEndpoint: string;
  readonly backendEndpoint: string;
  /**
   * Messages forwarded downstream; js mode only. Native forwards inside libzmq's
   * zmq_proxy_steerable, whose STATISTICS reply zeromq.js (6.8) does not expose: its Proxy
   * sends only PAUSE, RESUME and TERMINATE on a private control socket.
   */
  forwarded(): number | undefined;
  /** Bound and forwarding: false only while its sockets are rebuilt after a key was revoked (CURVE). */
  listening(): boolean;
  /** Peers connected now: publishers on the frontend, subscribers on the backend. */
  peers(): { readonly publishers: number; readonly subscribers: number };
  /** The links to proxy.upstream, in configured order; empty without upstreams. */
  upstreams(): UpstreamState[];
  /** Ready to forward: none configured, or at least one upstream connected. */
  upstreamReady(): boolean;
  /** Called whenever an upstream connects or disconnects. */
  onUpstreamChange(listener: (state: UpstreamState) => void): void;
  close(): Promise<void>;
}

/**
 * The XSUB/XPUB forwarder of PROTOCOL.md section 3. It forwards bytes and never decodes:
 * validation belongs to the edges, and a proxy that parsed would cap the whole fabric at
 * JavaScript's decoding rate. Subscriptions flow back upstream so feeds only send what
 * someone downstream wants; through upstream proxies too, so each site of a tree receives only
 * what its own subscribers want.
 */
export async function startProxy(options: ProxyOptions, log: Logger, security: FabricSecurity = FabricSecurity.PLAIN): Promise<RunningProxy> {
  const upstream = options.upstream ?? [];
  const frontendPeers = new FrontendPeers(upstream, log);
  let closed = false;
  let forwardedBefore = 0;
  let rebuilt: Promise<void> = Promise.resolve();
  /** The sockets forwarding now; undefined while they are rebuilt. */
  let current: OpenSockets | undefined;
  // A native proxy's messages never reach JavaScript: only the js loop can hand them over
  // in-process. Not with CURVE: every reader then connects, so ZAP admits each by its own key.
  const local = options.mode === 'js' && !security.enabled ? new LocalReaders() : undefined;
  // With CURVE, revoking a key rebuilds the sockets on the endpoints first bound (see ServerSocket.reopen).
  const reopen = (): Promise<void> => {
    rebuilt = rebuilt.then(async () => {
      if (closed || current === undefined) return;
      const previous = current;
      current = undefined;
      await previous.close();
      forwardedBefore += previous.forwarded() ?? 0;
      const endpoints = { frontend: previous.frontendEndpoint, backend: previous.backendEndpoint };
      await reopenRetrying(async () => {
        current = await openSockets(options, endpoints, frontendPeers, local, security, reopen, log);
      }, () => closed, log, 'proxy');
    });
    return rebuilt;
  };
  const first = await openSockets(options, options, frontendPeers, local, security, reopen, log);
  current = first;
  const withdraw = local === undefined ? undefined : offerLocalBackend([first.backendEndpoint], local);
  log.info({ frontendEndpoint: first.frontendEndpoint, backendEndpoint: first.backendEndpoint, upstream, mode: options.mode, curve: security.enabled }, 'proxy listening');
  return {
    frontendEndpoint: first.frontendEndpoint,
    backendEndpoint: first.backendEndpoint,
    forwarded: () => (options.mode === 'js' ? forwardedBefore + (current?.forwarded() ?? 0) : undefined),
    peers: () => ({ publishers: frontendPeers.publishers(), subscribers: current?.subscribers() ?? 0 }),
    listening: () => current !== undefined,
    upstreams: () => frontendPeers.list(),
    upstreamReady: () => frontendPeers.anyUpstreamConnected(),
    onUpstreamChange: (listener) => frontendPeers.onUpstreamChange(listener),
    close: async () => {
      closed = true;
      withdraw?.();
      try {
        await rebuilt;
        await current?.close();
      } finally {
        local?.detachAll();
      }
    },
  };
}

interface OpenSockets extends Pick<RunningProxy, 'frontendEndpoint' | 'backendEndpoint' | 'forwarded' | 'close'> {
  subscribers(): number;
}

/** Binds (and links upstream) a frontend and a backend and starts forwarding between them. */
async function openSockets(
  options: ProxyOptions, endpoints: { readonly frontend: string; readonly backend: string }, frontendPeers: FrontendPeers,
  local: LocalReaders | undefined, security: FabricSecurity, reopen: () => Promise<void>, log: Logger,
): Promise<OpenSockets> {
  const upstream = options.upstream ?? [];
  const heartbeat = upstream.length > 0 && options.upstreamHeartbeat !== undefined
    ? { heartbeatInterval: options.upstreamHeartbeat.intervalMs, heartbeatTimeout: options.upstreamHeartbeat.timeoutMs }
    : {};
  const frontend = new XSubscriber({ ...options.socket, ...heartbeat, receiveHighWaterMark: options.frontendHwm });
  const backend = new XPublisher({ ...options.socket, sendHighWaterMark: options.backendHwm });
  let bound: Pick<RunningProxy, 'frontendEndpoint' | 'backendEndpoint'>;
  let released: Promise<void> | undefined;
  /**
   * Stops forwarding (when started), closes both sockets and waits for their listeners, so a
   * rebuild can bind the same endpoints at once; once, however often it is called.
   */
  const release = (stopForwarding?: () => Promise<void>): Promise<void> => {
    released ??= security.release([frontend, backend], stopForwarding);
    return released;
  };
  // Watched and connected before forwarding starts: a native proxy owns the sockets from then on.
  frontendPeers.watch(frontend);
  const subscribers = countPeers(backend);
  try {
    bound = {
      frontendEndpoint: await security.bind(frontend, endpoints.frontend, { peers: 'publishers', setting: 'proxy.frontend', reopen }),
      backendEndpoint: await security.bind(backend, endpoints.backend, { peers: 'subscribers', setting: 'proxy.backend', reopen }),
    };
    if (upstream.length > 0) {
      // An upstream reads this proxy as one of its subscribers: the frontend connects with the process's own keys.
      const keys = security.clientKeys();
      if (keys !== undefined) setForNextConnect(frontend, keys);
      for (const endpoint of upstream) connectOrExplain(frontend, endpoint);
    }
  } catch (err) {
    await release();
    throw err;
  }
  const running = options.mode === 'native' ? runNative(frontend, backend) : runForwardingLoop(frontend, backend, subscribers, local, log);
  return {
    ...bound,
    forwarded: running.forwarded,
    subscribers,
    close: () => release(running.close),
  };
}

/** Subscribers connected to the backend, which only binds, from its monitor events. */
function countPeers(backend: XPublisher): () => number {
  let connected = 0;
  backend.events.on('accept', () => connected++);
  backend.events.on('disconnect', () => connected--);
  return () => connected;
}

function runNative(frontend: XSubscriber, backend: XPublisher): Pick<RunningProxy, 'forwarded' | 'close'> {
  const proxy = new NativeProxy(frontend, backend);
  const finished = proxy.run();
  return {
    forwarded: () => undefined,
    async close() {
      proxy.terminate();
      await finished;
    },
  };
}

/**
 * Forwards in JavaScript: each message to the backend, when anyone subscribes there, and to the
 * readers in this process; subscriptions upstream, the backend's and the local readers'.
 */
function runForwardingLoop(
  frontend: XSubscriber, backend: XPublisher, subscribers: () => number, local: LocalReaders | undefined, log: Logger,
): Pick<RunningProxy, 'forwarded' | 'close'> {
  const counters = { forwarded: 0 };
  // The frontend is sent on for the backend's subscribers and for local readers: one queue, so sends never overlap (zeromq.js EBUSY).
  const upstreamSends = new SendQueue(frontend, SUBSCRIPTIONS_QUEUED, (err) => log.error({ err: err.message }, 'proxy could not pass a subscription upstream'));
  /**
   * A subscription came before the monitor event of its connection: the peer is there already.
   * (Connections are counted, not subscriptions: the XPUB passes up an unsubscription of a
   * prefix never held, too.)
   */
  let subscribedUncounted = false;
  const downstream = (async () => {
    for await (const message of frontend) {
      // With no subscriber connected a send would reach no one: in the all-in-one (every reader
      // local) not making it is the whole ZeroMQ hop saved.
      const connected = subscribers() > 0;
      if (connected) subscribedUncounted = false;
      if (connected || subscribedUncounted) await backend.send(message);
      local?.forward(message);
      counters.forwarded++;
    }
  })();
  const upstream = (async () => {
    for await (const [subscription] of backend) {
      if (subscription![0] === SUBSCRIBE && subscribers() === 0) subscribedUncounted = true;
      upstreamSends.push([subscription!]);
    }
  })();
  local?.started((subscription) => upstreamSends.push([subscription]));
  const loops = Promise.all([downstream, upstream]).catch((err: Error) => {
    log.error({ err: err.message }, 'proxy forwarding loop failed');
  });
  return {
    forwarded: () => counters.forwarded,
    async close() {
      local?.stopped();
      frontend.close();
      backend.close();
      await loops;
    },
  };
}

/** Subscription messages waiting for the frontend at most: far more than any fabric has prefixes. */
const SUBSCRIPTIONS_QUEUED = 100_000;

function connectOrExplain(socket: XSubscriber, endpoint: string): void {
  try {
    socket.connect(endpoint);
  } catch (err) {
    throw new Error(`cannot connect to ${endpoint} (setting proxy.upstream): ${(err as Error).message}`);
  }
}
