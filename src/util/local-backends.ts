/**
 * Proxy backends bound by this process, offered to its own readers without a socket. In the
 * all-in-one process the snapshot service and the gateway then take each message from the
 * proxy's forwarding loop as the very frames it received, instead of through an XPUB send, a
 * kernel hop and a SUB receive: the ZeroMQ hop that was a third of the fabric's CPU per tick
 * (docs/performance.md, "Per-tick budget"). A reader still gets what a SUB socket would: every
 * message whose topic starts with a prefix it subscribed, in the order the proxy forwards them.
 * ZMTP heartbeats have nothing to watch between a process and itself. With CurveZMQ on there
 * are no local lines: every reader connects, so the proxy's ZAP handler admits each by its key.
 */

export interface LocalReader {
  /**
   * A message the backend forwards. Every one of them, whatever its topic (the proxy receives
   * what all its subscribers want): a reader keeps those matching its own prefixes. The frames
   * are shared by every reader and must not be changed.
   */
  receive(frames: Buffer[]): void;
  /** The backend started (true) or stopped (false) forwarding: its sockets opened, or closed for good or for a rebuild. */
  lineChanged(up: boolean): void;
  /**
   * The proxy closed for good and dropped its readers: a reader goes on over a socket, which
   * reaches whatever binds the endpoint next, as a SUB socket's reconnection would.
   */
  detached(): void;
}

/** One reader's attachment to a local backend: its subscriptions travel upstream as a SUB socket's would. */
export interface LocalLine {
  subscribe(prefix: string): void;
  unsubscribe(prefix: string): void;
  /** Detaches the reader; its subscriptions are taken back. */
  close(): void;
}

export interface LocalBackend {
  /** Whether it forwards now. */
  readonly up: boolean;
  attach(reader: LocalReader): LocalLine;
}

const offered = new Map<string, LocalBackend>();

/**
 * Offers `backend` to this process's readers of any of `endpoints` (as configured and as bound);
 * returns the withdrawal, for when the proxy closes.
 */
export function offerLocalBackend(endpoints: readonly string[], backend: LocalBackend): () => void {
  const keys = [...new Set(endpoints.map(endpointKey))];
  for (const key of keys) offered.set(key, backend);
  return () => {
    for (const key of keys) if (offered.get(key) === backend) offered.delete(key);
  };
}

/** The backend this process binds at `endpoint`, if it offers one. */
export function localBackendAt(endpoint: string): LocalBackend | undefined {
  return offered.get(endpointKey(endpoint));
}

/**
 * One key for the spellings that reach the same IPv4 listener from this host: a TCP port bound
 * on the wildcard or on 127.0.0.1 is reached as 127.0.0.1 or localhost. Anything else (another
 * interface's address, IPv6, ipc paths) matches only as written; a reader that names the proxy
 * some other way still reads it, over a socket.
 */
function endpointKey(endpoint: string): string {
  const tcp = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint);
  if (tcp === null || !LOOPBACK_OR_WILDCARD.has(tcp[1]!)) return endpoint;
  return `tcp://loopback:${tcp[2]}`;
}

const LOOPBACK_OR_WILDCARD = new Set(['*', '0.0.0.0', '127.0.0.1', 'localhost']);
