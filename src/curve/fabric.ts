import type { Socket } from 'zeromq';
import { capability } from 'zeromq';
import type { Logger } from '../log/index.js';
import { listenerReleased } from '../util/listener.js';
import { CertificateError, loadCertificate } from './certificate.js';
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
   * asked only at a handshake). Without it the socket is unbound and bound again; a socket a
   * native proxy owns on its own thread cannot be touched from here, so the proxy rebuilds.
   */
  readonly reopen?: () => Promise<void>;
}

interface Bound {
  readonly socket: Socket;
  readonly endpoint: string;
  readonly domain: string;
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
    this.client ??= {
      curveServerKey: certificate(this.settings, 'curve.serverKey', 'public').publicKey,
      ...ownKeys(certificate(this.settings, 'curve.certificate', 'secret')),
    };
    return this.client;
  }

  /** Binds a server socket (a CURVE server admitting `peers` with CURVE on); resolves with the endpoint bound (a `:*` port resolved). */
  async bind(socket: Socket, endpoint: string, options: ServerSocket): Promise<string> {
    if (this.settings !== undefined) {
      const allowed = this.prepareServer(options.peers);
      let bound = endpoint;
      const domain = await zapHandler.register({ endpoint: () => bound, allows: (key) => allowed.allows(key) }, this.log!);
      socket.curveServer = true;
      socket.curveSecretKey = this.serverSecret!;
      socket.zapDomain = domain;
      // Without a ZAP handler libzmq would admit every key; enforced, it refuses them all instead.
      socket.zapEnforceDomain = true;
      // A peer without CURVE (or with the wrong server key) fails the handshake before ZAP is asked.
      socket.events.on('handshake:error:protocol', () => zapHandler.refuse(bound, 'no CURVE handshake (plain peer, or wrong server key)', undefined));
      bound = await bindOrExplain(socket, endpoint, options.setting);
      this.bound.push({ socket, endpoint: bound, domain, options });
      return bound;
    }
    return bindOrExplain(socket, endpoint, options.setting);
  }

  /**
   * Reads what a server socket for `peers` needs (the server certificate and the directory of
   * allowed keys), refusing with a CurveError naming the setting; bind() calls it too. For a
   * role whose server sockets open later than its start (ingest under its supervisor), so that
   * its start-up is what refuses.
   */
  prepareServer(peers: PeerClass): KeyDirectory {
    const directory = this.directory(peers);
    this.serverSecret ??= certificate(this.settings!, 'curve.serverCertificate', 'secret').secretKey!;
    return directory;
  }

  /** Forgets a server socket its owner closed. */
  async forget(socket: Socket): Promise<void> {
    const index = this.bound.findIndex((b) => b.socket === socket);
    if (index < 0) return;
    const [gone] = this.bound.splice(index, 1);
    await zapHandler.unregister(gone!.domain);
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
    for (const { socket } of [...this.bound]) await this.forget(socket);
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

  /** A revoked key may still be connected: every socket that admitted it drops all its connections, and the others reconnect through ZAP again. */
  private dropConnections(peers: PeerClass): void {
    this.reopening = this.reopening.then(async () => {
      const sockets = this.bound.filter((b) => b.options.peers === peers);
      const reopened = new Set<() => Promise<void>>();
      for (const { socket, endpoint, options } of sockets) {
        try {
          if (options.reopen !== undefined) {
            // One owner may have bound several sockets (the proxy); it rebuilds them once.
            if (reopened.has(options.reopen)) continue;
            reopened.add(options.reopen);
            await options.reopen();
          } else {
            const released = listenerReleased(socket, endpoint);
            await socket.unbind(endpoint);
            await released;
            await socket.bind(endpoint);
          }
          this.log!.info({ endpoint, peers }, 'connections dropped after a key was revoked; allowed peers reconnect');
        } catch (err) {
          this.log!.error({ endpoint, err: (err as Error).message }, 'cannot drop the connections of a revoked key');
        }
      }
    });
  }
}

/** A certificate named by a setting, read and checked; a CurveError naming the setting otherwise. */
function certificate(settings: CurveSettings, setting: CurveSetting, need: 'public' | 'secret') {
  const file = settings[setting.slice('curve.'.length) as keyof Omit<CurveSettings, 'enabled'>];
  const kind = need === 'secret' ? 'secret certificate (NAME.key_secret)' : 'public certificate (NAME.key)';
  if (file === '') throw new CurveError(setting, `not set: a ${kind} is needed with curve.enabled`);
  try {
    return need === 'secret' ? loadCertificate(file, 'secret') : loadCertificate(file);
  } catch (err) {
    if (err instanceof CertificateError) throw new CurveError(setting, err.message);
    throw err;
  }
}

function ownKeys(own: { publicKey: string; secretKey?: string }): Pick<CurveClientKeys, 'curvePublicKey' | 'curveSecretKey'> {
  return { curvePublicKey: own.publicKey, curveSecretKey: own.secretKey! };
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
