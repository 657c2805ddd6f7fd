import { Router } from 'zeromq';
import type { Logger } from '../log/index.js';
import { ThrottledWarning } from '../log/index.js';
import { encodeKey, KEY_BYTES } from './z85.js';

/** libzmq asks this address of its own context for every handshake of a socket with a ZAP domain (RFC 27). */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const ZAP_VERSION = '1.0';
/** A refused key is logged once a minute per endpoint, however often it retries. */
const DENIAL_LOG_INTERVAL_MS = 60_000;

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
 */
class ZapHandler {
  /** Refused handshakes by endpoint. */
  readonly denied = new Map<string, number>();
  private readonly domains = new Map<string, ZapPolicy>();
  private nextDomain = 1;
  private router: Router | undefined;
  /** Resolves once the router is bound: no socket may take its domain before the handler answers. */
  private bound: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private warnings: ThrottledWarning | undefined;

  /** Adds a server socket's policy; resolves with the ZAP domain to give that socket, once the handler answers. */
  async register(policy: ZapPolicy, log: Logger): Promise<string> {
    const domain = `tickfan-${this.nextDomain++}`;
    this.domains.set(domain, policy);
    if (this.router === undefined) {
      this.warnings = new ThrottledWarning(log, DENIAL_LOG_INTERVAL_MS);
      const router = new Router({ linger: 0 });
      this.router = router;
      this.bound = router.bind(ZAP_ENDPOINT).then(() => {
        this.loop = this.answer(router, log);
      });
    }
    await this.bound;
    return domain;
  }

  /** Drops a closed socket's policy; the handler closes with the last one. */
  async unregister(domain: string): Promise<void> {
    this.domains.delete(domain);
    if (this.domains.size > 0 || this.router === undefined) return;
    const { router, loop } = this;
    this.router = undefined;
    router.close();
    await loop;
  }

  private async answer(router: Router, log: Logger): Promise<void> {
    try {
      for await (const request of router) await router.send(this.reply(request));
    } catch (err) {
      if (!router.closed) log.error({ err: (err as Error).message }, 'ZAP handler stopped: CURVE handshakes are refused from now on');
    }
  }

  /** [routing id, "", version, request id, domain, address, identity, mechanism, credentials...] in, the same envelope with a status out. */
  private reply(request: Buffer[]): (Buffer | string)[] {
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

  /** Counts and logs (throttled per endpoint and key) a refused peer: `who` is its key, or why it has none. */
  refuse(endpoint: string, who: string, address: string | undefined): void {
    this.denied.set(endpoint, (this.denied.get(endpoint) ?? 0) + 1);
    this.warnings?.warn(`${endpoint} ${who}`, { endpoint, key: who, address }, 'CURVE peer refused on this endpoint');
  }
}

export const zapHandler = new ZapHandler();
