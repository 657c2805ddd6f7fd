import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { CloseCode, patternProblem } from '../wire/index.js';
import { upstreamPrefix } from './routing.js';

/**
 * Authentication of PROTOCOL.md section 5 (when enabled): a JWT from `Authorization: Bearer T`
 * or `?token=T` on the upgrade request, signed with the configured key, whose `topics` claim
 * lists the patterns the client is entitled to. Verification is jose's; this module only picks
 * the key and algorithm, reads the claims and answers whether a pattern is entitled.
 */

export const AUTH_MODES = ['none', 'hs256', 'rs256', 'es256', 'jwks'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface AuthOptions {
  readonly mode: AuthMode;
  /** hs256: the shared secret; rs256/es256: a PEM public key (SPKI or certificate). */
  readonly key: string;
  /** jwks: a JWKS file (RFC 7517) of RSA and EC public keys, each with its `kid`. */
  readonly jwksFile: string;
}

/** What a verified token grants: entitled patterns, and when it expires (ms since the epoch), if ever. */
export interface Grant {
  readonly patterns: readonly string[];
  readonly expiresAt: number | undefined;
}

/**
 * Why a connection may not stay: UNAUTHENTICATED for a token that does not authenticate (missing,
 * invalid, expired), FORBIDDEN for a valid token that entitles nothing (PROTOCOL.md section 5 close codes).
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(message: string, readonly closeCode: typeof CloseCode.UNAUTHENTICATED | typeof CloseCode.FORBIDDEN = CloseCode.UNAUTHENTICATED) {
    super(message);
  }
}

const ALGORITHMS = { hs256: ['HS256'], rs256: ['RS256'], es256: ['ES256'], jwks: ['RS256', 'ES256'] } as const;
/** How often a JWKS file is looked at for a change: a rotated key takes effect within this, without a restart. */
export const JWKS_RECHECK_MS = 1000;
const KEY_TYPES = { rs256: 'rsa', es256: 'ec' } as const;

/** The verification key of `mode`, or an Error saying why `key` cannot be one. */
export function verificationKey(mode: Exclude<AuthMode, 'none' | 'jwks'>, key: string): KeyObject {
  if (key.trim() === '') throw new Error(`gateway.auth.mode is ${mode} but gateway.auth.key is empty`);
  if (mode === 'hs256') return createSecretKey(Buffer.from(key, 'utf8'));
  let object: KeyObject;
  try {
    object = createPublicKey(key);
  } catch (err) {
    throw new Error(`gateway.auth.key is not a PEM public key for ${mode}: ${(err as Error).message}`);
  }
  if (object.asymmetricKeyType !== KEY_TYPES[mode]) {
    throw new Error(`gateway.auth.key is a ${object.asymmetricKeyType} key, ${mode} needs an ${KEY_TYPES[mode].toUpperCase()} public key`);
  }
  return object;
}

/**
 * The keys of a JWKS file, read and checked: a JSON object whose `keys` is a non-empty list of
 * RSA or EC public keys, each with a `kid` (tokens choose their key by it, which is what lets
 * several keys be valid at once while one is rotated out). An Error names the file and the fault.
 */
export function readJwks(file: string): JSONWebKeySet {
  if (file === '') throw new Error('gateway.auth.mode is jwks but gateway.auth.jwksFile is empty');
  const fail = (why: string): never => {
    throw new Error(`gateway.auth.jwksFile ${file}: ${why}`);
  };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot be read: ${(err as Error).message}`);
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch (err) {
    fail(`is not JSON: ${(err as Error).message}`);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) fail('needs a non-empty "keys" list');
  (keys as unknown[]).forEach((jwk, i) => {
    const { kty, kid, d } = (jwk ?? {}) as { kty?: unknown; kid?: unknown; d?: unknown };
    if (kty !== 'RSA' && kty !== 'EC') fail(`key ${i}: kty must be RSA or EC, not ${JSON.stringify(kty)}`);
    if (typeof kid !== 'string' || kid === '') fail(`key ${i}: needs a kid`);
    if (d !== undefined) fail(`key ${i} (${String(kid)}): holds a private key; a gateway needs only public keys`);
    try {
      createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch (err) {
      fail(`key ${i} (${String(kid)}) is not a valid ${String(kty)} key: ${(err as Error).message}`);
    }
  });
  return jwks as JSONWebKeySet;
}

/** The keys of a JWKS file, looked at again at most every JWKS_RECHECK_MS and re-read when it changed. */
class JwksKeys {
  /** Re-reads that failed (the file unreadable or invalid): the previous keys stay in use. */
  reloadFailures = 0;
  private keySet: ReturnType<typeof createLocalJWKSet>;
  private mtimeMs: number;
  private checkedAt = performance.now();

  constructor(private readonly file: string) {
    this.mtimeMs = statSync(file).mtimeMs;
    this.keySet = createLocalJWKSet(readJwks(file));
  }

  current(): ReturnType<typeof createLocalJWKSet> {
    if (performance.now() - this.checkedAt >= JWKS_RECHECK_MS) this.recheck();
    return this.keySet;
  }

  private recheck(): void {
    this.checkedAt = performance.now();
    try {
      const { mtimeMs } = statSync(this.file);
      if (mtimeMs === this.mtimeMs) return;
      this.keySet = createLocalJWKSet(readJwks(this.file));
      this.mtimeMs = mtimeMs;
    } catch {
      this.reloadFailures++;
    }
  }
}

/** Verifies tokens with the configured key (or JWKS); one per gateway with authentication enabled. */
export class Authenticator {
  private readonly key: KeyObject | JwksKeys;
  private readonly algorithms: string[];

  constructor(options: AuthOptions & { mode: Exclude<AuthMode, 'none'> }) {
    this.key = options.mode === 'jwks' ? new JwksKeys(options.jwksFile) : verificationKey(options.mode, options.key);
    this.algorithms = [...ALGORITHMS[options.mode]];
  }

  /** Times a changed JWKS file could not be used (it stays on the keys it had). */
  get jwksReloadFailures(): number {
    return this.key instanceof JwksKeys ? this.key.reloadFailures : 0;
  }

  /** The grant of a valid token; throws AuthError when it is missing, malformed, badly signed, expired, lacks `topics` (UNAUTHENTICATED) or entitles nothing (FORBIDDEN). */
  async verify(token: string | undefined): Promise<Grant> {
    if (token === undefined || token === '') throw new AuthError('unauthenticated: no token');
    let payload: Record<string, unknown>;
    try {
      const options = { algorithms: this.algorithms };
      ({ payload } = this.key instanceof JwksKeys ? await jwtVerify(token, this.key.current(), options) : await jwtVerify(token, this.key, options));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new AuthError('token expired');
      throw new AuthError('unauthenticated: invalid token');
    }
    const topics = payload.topics;
    if (!Array.isArray(topics) || !topics.every((p) => typeof p === 'string' && patternProblem(p) === undefined)) {
      throw new AuthError('unauthenticated: token has no valid topics claim');
    }
    if (topics.length === 0) throw new AuthError('forbidden: the token entitles no topics', CloseCode.FORBIDDEN);
    return { patterns: topics as string[], expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
  }
}

/** The token of an upgrade request: `Authorization: Bearer T`, else `?token=T`. */
export function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const bearer = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  return new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
}

/**
 * Whether entitlements `patterns` cover subscription `pattern`: some entitlement is `*`, or is a
 * prefix pattern whose prefix starts `pattern`'s fixed part, or equals `pattern`.
 */
export function entitles(patterns: readonly string[], pattern: string): boolean {
  const fixed = upstreamPrefix(pattern);
  return patterns.some((e) => e === '*' || e === pattern || (e.endsWith('*') && fixed.startsWith(e.slice(0, -1))));
}
