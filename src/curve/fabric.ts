import type { Socket } from 'zeromq';
import { capability } from 'zeromq';
import type { Logger } from '../log/index.js';
import { backoffDelay } from '../util/backoff.js';
import { listenerReleased } from '../util/listener.js';
import { CertificateError, loadCertificate, type Certificate, type SecretCertificate } from './certificate.js';
import { KeyDirectory } from './directory.js';
import { CurveError } from './errors.js';
import type { CurveSetting, CurveSettings } from './settings.js';
import { zapHandler } from './zap.js';

/** Who may connect to a server socket: feeds (proxy frontend, ingest) or readers (proxy backend, snapshot service). */
export type PeerClass = 'publishers' | 'subscribers';

/** zeromq.js options that make a connecting socket a CURVE client of the fabric's servers. */
export interface CurveClientKeys {
  readonly curveServerKey: string;
  readonly curvePublicKey: string;
  readonly curveSecretKey: string;
}

export interface ServerSocket {
  /** Who may connect. */
  readonly peers: PeerClass;
  /** The setting that names the endpoint, for a refusal to bind (proxy.frontend, snapshot.endpoint, ...). */
  readonly setting: string;
  /**
   * How the owner drops every connection of the socket when a key it allowed is revoked (ZAP is
   * asked only at a handshake, and ZeroMQ cannot close one peer's connection alone): it closes
   * the socket and binds a new one on the same endpoint (`reopenRetrying`), after which allowed
   * peers reconnect. Unbinding the live socket instead would fail its pending receive and send
   * (zeromq.js: EBUSY during an unbind), and a native proxy owns its sockets on its own thread.
   * One owner may bind several sockets with the same reopen; it is called once for them.
   */
  readonly reopen: () => Promise<void>;
}

interface Bound {
  readonly socket: Socket;
  /** As bound, a `:*` port resolved: where release() waits for the listener to close. */
  readonly endpoint: string;
  /** The socket's ZAP domain; none without CURVE. */
  readonly domain: string | undefined;
  readonly options: ServerSocket;
}

/**
 * The fabric's CurveZMQ (PROTOCOL.md section 7) for one process: the keys its connecting
 * sockets present, and the binding of its server sockets behind the process's ZAP handler,
 * which admits publishers' keys where data comes in and subscribers' keys where it goes out.
 * Certificates are read when first needed, so each role is refused at start-up (CurveError,
 * naming the setting) for exactly the certificates it uses.
 */
export class FabricSecurity {
  /** The fabric without CURVE (curve.enabled false): plain sockets. */
  static readonly PLAIN = new FabricSecurity(undefined, undefined);

  private readonly bound: Bound[] = [];
  private readonly directories = new Map<PeerClass, KeyDirectory>();
  private client: CurveClientKeys | undefined;
  private serverSecret: string | undefined;
  /** Whether this process's ZAP handler counts this object among its users (from the first server socket on). */
  private zapAttached = false;
  private reopening: Promise<void> = Promise.resolve();

  private constructor(
    private readonly settings: CurveSettings | undefined,
    private readonly log: Logger | undefined,
  ) {}

  static open(settings: CurveSettings, log: Logger): FabricSecurity {
    if (!settings.enabled) return FabricSecurity.PLAIN;
    if (!capability.curve) throw new CurveError('curve.enabled', 'this zeromq build has no CURVE support (zmq.capability.curve is false); install a zeromq built with libsodium, or set curve.enabled false');
    return new FabricSecurity(settings, log.child({ component: 'curve' }));
  }

  get enabled(): boolean {
    return this.settings !== undefined;
  }

  /** Options for every socket this process connects to the fabric; none without CURVE. */
  clientKeys(): CurveClientKeys | undefined {
    if (this.settings === undefined) return undefined;
    if (this.client === undefined) {
      const own = secretCertificate(this.settings, 'curve.certificate');
      this.client = { curveServerKey: publicCertificate(this.settings, 'curve.serverKey').publicKey, curvePublicKey: own.publicKey, curveSecretKey: own.secretKey };
    }
    return this.client;
  }

  /** Binds a server socket (a CURVE server admitting `peers` with CURVE on); resolves with the endpoint bound (a `:*` port resolved). */
  async bind(socket: Socket, endpoint: string, options: ServerSocket): Promise<string> {
    if (this.settings === undefined) {
      const bound = await bindOrExplain(socket, endpoint, options.setting);
      this.bound.push({ socket, endpoint: bound, domain: undefined, options });
      return bound;
    }
    const allowed = this.prepareServer(options.peers);
    if (!this.zapAttached) {
      zapHandler.attach(this.log!);
      this.zapAttached = true;
    }
    let bound = endpoint;
    const domain = await zapHandler.register({ endpoint: () => bound, allows: (key) => allowed.allows(key) });
    socket.curveServer = true;
    socket.curveSecretKey = this.serverSecret!;
    socket.zapDomain = domain;
    // Without a ZAP handler libzmq would admit every key; enforced, it refuses them all instead.
    socket.zapEnforceDomain = true;
    // A peer without CURVE (or with the wrong server key) fails the handshake before ZAP is asked.
    // Only accepted connections count: a proxy frontend also connects out, to its upstreams.
    socket.events.on('handshake:error:protocol', ({ address }) => {
      if (sameListener(address, bound)) zapHandler.refuse(bound, 'no CURVE handshake (plain peer, or wrong server key)', undefined);
    });
    try {
      bound = await bindOrExplain(socket, endpoint, options.setting);
    } catch (err) {
      zapHandler.unregister(domain);
      throw err;
    }
    this.bound.push({ socket, endpoint: bound, domain, options });
    return bound;
  }

  /**
   * Reads what a server socket for `peers` needs (the server certificate and the directory of
   * allowed keys), refusing with a CurveError naming the setting; bind() calls it too. For a
   * role whose server sockets open later than its start (ingest under its supervisor), so that
   * its start-up is what refuses.
   */
  prepareServer(peers: PeerClass): KeyDirectory {
    const directory = this.directory(peers);
    this.serverSecret ??= secretCertificate(this.settings!, 'curve.serverCertificate').secretKey;
    return directory;
  }

  /**
   * Closes server sockets (bound here, or whose bind failed) and resolves once libzmq has closed
   * their listeners, so the same endpoints can be bound again at once (a rebuild, a restart):
   * close() returns before that, and a bind meanwhile fails with "Address already in use".
   * `stop` runs first, for a native proxy whose terminate closes the sockets itself.
   */
  async release(sockets: readonly Socket[], stop: () => Promise<void> = async () => {}): Promise<void> {
    // Asked before the close: a closed socket's monitor events can no longer be read.
    const released = sockets.flatMap((socket) => {
      const bound = this.bound.find((b) => b.socket === socket);
      return bound === undefined ? [] : [listenerReleased(socket, bound.endpoint)];
    });
    await stop();
    for (const socket of sockets) {
      socket.close();
      this.forget(socket);
    }
    await Promise.all(released);
  }

  /** Bad certificates and unreadable directories met while reading the key directories again. */
  reloadFailures(): number {
    let failures = 0;
    for (const directory of this.directories.values()) failures += directory.reloadFailures;
    return failures;
  }

  async close(): Promise<void> {
    for (const directory of this.directories.values()) directory.close();
    this.directories.clear();
    await this.reopening;
    for (const { socket } of [...this.bound]) this.forget(socket);
    if (this.zapAttached) {
      this.zapAttached = false;
      await zapHandler.detach();
    }
  }

  private forget(socket: Socket): void {
    const index = this.bound.findIndex((b) => b.socket === socket);
    if (index < 0) return;
    const [gone] = this.bound.splice(index, 1);
    if (gone!.domain !== undefined) zapHandler.unregister(gone!.domain);
  }

  private directory(peers: PeerClass): KeyDirectory {
    let directory = this.directories.get(peers);
    if (directory === undefined) {
      const setting = `curve.${peers}` as const;
      const dir = this.settings![peers];
      if (dir === '') throw new CurveError(setting, `not set: a directory of the public certificates allowed is needed, since this process binds a socket for ${peers} with curve.enabled`);
      directory = new KeyDirectory(dir, setting, this.log!, (revoked) => {
        if (revoked) this.dropConnections(peers);
      });
      this.directories.set(peers, directory);
    }
    return directory;
  }

  /** A revoked key may still be connected: every owner of a socket that admitted it drops all of that socket's connections. */
  private dropConnections(peers: PeerClass): void {
    this.reopening = this.reopening.then(async () => {
      const owners = new Set(this.bound.filter((b) => b.options.peers === peers).map((b) => b.options.reopen));
      for (const reopen of owners) {
        try {
          await reopen();
        } catch (err) {
          this.log!.error({ peers, err: (err as Error).message }, 'cannot drop the connections of a revoked key');
        }
      }
      this.log!.info({ peers, sockets: owners.size }, 'connections dropped after a key was revoked; allowed peers reconnect');
    });
  }
}

/** Before each new try of a reopen that failed (a port still held, say). */
const REOPEN_RETRY_DELAYS = { minDelayMs: 100, maxDelayMs: 2000, jitter: 0.2 };

/**
 * Runs `open` until it succeeds or `stopped()` says the owner closed meanwhile, with backoff
 * between failures, each logged: a socket rebuilt after a revocation must come back.
 */
export async function reopenRetrying(open: () => Promise<void>, stopped: () => boolean, log: Logger, what: string): Promise<void> {
  for (let attempt = 1; !stopped(); attempt++) {
    try {
      return await open();
    } catch (err) {
      log.error({ err: (err as Error).message, attempt }, `${what}: cannot bind again after a key was revoked; retrying`);
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, REOPEN_RETRY_DELAYS)));
    }
  }
}

/**
 * Whether a monitor event's address is a connection accepted by the listener at `bound`:
 * libzmq names an accepted TCP connection by its local address, so the listener's port (its
 * host may be a wildcard), and an ipc one by the path.
 */
function sameListener(address: string, bound: string): boolean {
  const port = (endpoint: string) => /^tcp:\/\/.*:(\d+)$/.exec(endpoint)?.[1];
  return address.startsWith('tcp://') ? port(address) === port(bound) : address === bound;
}

function publicCertificate(settings: CurveSettings, setting: CurveSetting): Certificate {
  return certificate(settings, setting, 'a public certificate (NAME.key)', (file) => loadCertificate(file));
}

function secretCertificate(settings: CurveSettings, setting: CurveSetting): SecretCertificate {
  return certificate(settings, setting, 'a secret certificate (NAME.key_secret)', (file) => loadCertificate(file, 'secret'));
}

/** A certificate named by a setting, read and checked; a CurveError naming the setting otherwise. */
function certificate<C>(settings: CurveSettings, setting: CurveSetting, kind: string, load: (file: string) => C): C {
  const file = settings[setting.slice('curve.'.length) as keyof Omit<CurveSettings, 'enabled'>];
  if (file === '') throw new CurveError(setting, `not set: ${kind} is needed with curve.enabled`);
  try {
    return load(file);
  } catch (err) {
    if (err instanceof CertificateError) throw new CurveError(setting, err.message);
    throw err;
  }
}

async function bindOrExplain(socket: Socket, endpoint: string, setting: string): Promise<string> {
  try {
    await socket.bind(endpoint);
  } catch (err) {
    throw new Error(`cannot bind ${endpoint} (setting ${setting}): ${(err as Error).message}`);
  }
  return socket.lastEndpoint ?? endpoint;
}

/**
 * Makes a socket that is already bound as a CURVE server connect as a client (the proxy
 * frontend linking to its upstreams). libzmq takes a socket's options at each bind and connect,
 * so this is sound; zeromq.js warns on every such set that it applies only from the next
 * connect, which is the intent here, so that warning is not printed.
 */
export function setForNextConnect(socket: Socket, keys: CurveClientKeys): void {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).includes('until next connect/bind')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    Object.assign(socket, keys);
  } finally {
    process.emitWarning = emitWarning;
  }
}
