import { Router } from 'zeromq';
import type { Logger } from '../log/index.js';
import { ThrottledWarning } from '../log/index.js';
import { encodeKey, KEY_BYTES } from './z85.js';

/** libzmq asks this address of its own context for every handshake of a socket with a ZAP domain (RFC 27). */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const ZAP_VERSION = '1.0';
/** A refused key is logged at most once a minute per endpoint ... */
const DENIAL_LOG_INTERVAL_MS = 60_000;
/** ... and an endpoint logs at most this many refusals a minute, however many keys try (a new key per attempt costs an attacker nothing). */
const DENIAL_LINES_PER_ENDPOINT = 20;
/**
 * libzmq's reaper thread releases a closed inproc endpoint a moment after close(): a handler
 * bound again soon after the last one closed (a test's next fabric) retries for this long.
 */
const REBIND_RETRY_MS = 1000;

/** What one server socket (its ZAP domain) lets in. */
export interface ZapPolicy {
  /** The endpoint the socket is bound to, for the metric label and the log. */
  endpoint(): string;
  /** Whether this 32-byte CURVE public key may connect. */
  allows(key: Buffer): boolean;
}

/**
 * The ZAP handler (ZeroMQ RFC 27) that decides which peers every CURVE server socket of this
 * process admits. libzmq asks one address per context, so the process has exactly one
 * handler, shared by every role it runs; each server socket has its own domain, whose policy
 * answers. Anything the handler cannot place (another mechanism, an unknown domain) is
 * refused: with ZAP_ENFORCE_DOMAIN set on the sockets, a missing handler refuses too.
 *
 * It lives while any FabricSecurity of the process is open (not while any socket is bound: a
 * proxy rebuilding its sockets after a revocation briefly has none, and must not lose it).
 */
class ZapHandler {
  /** Refused peers by endpoint. */
  readonly denied = new Map<string, number>();
  private readonly domains = new Map<string, ZapPolicy>();
  private readonly logLines = new Map<string, { since: number; lines: number; suppressed: number }>();
  private nextDomain = 1;
  private users = 0;
  private router: Router | undefined;
  /** Resolves once the router is bound: no socket may take a domain before the handler answers. */
  private bound: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private warnings: ThrottledWarning | undefined;
  private log: Logger | undefined;

  /** One more user (a FabricSecurity with CURVE on); the handler is bound with the first. */
  attach(log: Logger): void {
    if (this.users++ > 0) return;
    this.log = log;
    this.warnings = new ThrottledWarning(log, DENIAL_LOG_INTERVAL_MS);
    const router = new Router({ linger: 0 });
    this.router = router;
    this.bound = bindRetrying(router).then(
      () => {
        this.loop = this.answer(router, log);
      },
      (err: Error) => {
        router.close();
        throw new Error(`cannot bind the ZAP handler at ${ZAP_ENDPOINT}: ${err.message}`);
      },
    );
    // Every register() awaits it and reports a failure; nothing else may see it unhandled.
    this.bound.catch(() => undefined);
  }

  /** One user fewer; the handler closes with the last. */
  async detach(): Promise<void> {
    if (--this.users > 0 || this.router === undefined) return;
    const { router, bound } = this;
    this.router = undefined;
    await bound.catch(() => undefined);
    router.close();
    await this.loop;
    this.loop = undefined;
  }

  /** Adds a server socket's policy; resolves with the ZAP domain to give that socket, once the handler answers. */
  async register(policy: ZapPolicy): Promise<string> {
    if (this.router === undefined) throw new Error('the ZAP handler is not running (no open FabricSecurity)');
    await this.bound;
    const domain = `tickfan-${this.nextDomain++}`;
    this.domains.set(domain, policy);
    return domain;
  }

  /** Drops a closed socket's policy. */
  unregister(domain: string): void {
    this.domains.delete(domain);
  }

  /**
   * Counts and logs a refused peer: `who` is its key, or why it has none. At most once a minute
   * per endpoint and key, and at most DENIAL_LINES_PER_ENDPOINT lines a minute per endpoint.
   */
  refuse(endpoint: string, who: string, address: string | undefined): void {
    this.denied.set(endpoint, (this.denied.get(endpoint) ?? 0) + 1);
    const now = Date.now();
    let budget = this.logLines.get(endpoint);
    if (budget === undefined || now - budget.since >= DENIAL_LOG_INTERVAL_MS) {
      if (budget !== undefined && budget.suppressed > 0) {
        this.log?.warn({ endpoint, suppressed: budget.suppressed }, 'CURVE peers refused on this endpoint without a log line of their own (too many keys in a minute)');
      }
      budget = { since: now, lines: 0, suppressed: 0 };
      this.logLines.set(endpoint, budget);
    }
    if (budget.lines >= DENIAL_LINES_PER_ENDPOINT) {
      budget.suppressed++;
      return;
    }
    if (this.warnings?.warn(`${endpoint} ${who}`, { endpoint, key: who, address }, 'CURVE peer refused on this endpoint')) budget.lines++;
  }

  private async answer(router: Router, log: Logger): Promise<void> {
    try {
      for await (const request of router) await router.send(this.reply(request));
    } catch (err) {
      if (!router.closed) log.error({ err: (err as Error).message }, 'ZAP handler stopped: CURVE handshakes are refused from now on');
    }
  }

  /** [routing id, "", version, request id, domain, address, identity, mechanism, credentials...] in, the same envelope with a status out. */
  reply(request: readonly Buffer[]): (Buffer | string)[] {
    const [peer = Buffer.alloc(0), delimiter = Buffer.alloc(0), version, requestId = Buffer.alloc(0), domain, address, , mechanism, key] = request;
    const answer = (code: '200' | '400' | '500', text: string, userId = '') => [peer, delimiter, ZAP_VERSION, requestId, code, text, userId, ''];
    if (version?.toString() !== ZAP_VERSION) return answer('500', 'unsupported ZAP version');
    const policy = this.domains.get(domain?.toString() ?? '');
    if (policy === undefined) return answer('400', 'unknown domain');
    const endpoint = policy.endpoint();
    if (mechanism?.toString() !== 'CURVE' || key === undefined || key.length !== KEY_BYTES) {
      this.refuse(endpoint, `mechanism ${mechanism?.toString() ?? 'none'}`, address?.toString());
      return answer('400', 'CURVE required');
    }
    if (!policy.allows(key)) {
      this.refuse(endpoint, encodeKey(key), address?.toString());
      return answer('400', 'key not allowed');
    }
    return answer('200', 'OK', encodeKey(key));
  }
}

async function bindRetrying(router: Router): Promise<void> {
  const deadline = performance.now() + REBIND_RETRY_MS;
  for (;;) {
    try {
      return await router.bind(ZAP_ENDPOINT);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || performance.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

export const zapHandler = new ZapHandler();
