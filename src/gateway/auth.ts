import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { errors, jwtVerify } from 'jose';
import { CloseCode, patternProblem } from '../wire/index.js';
import { upstreamPrefix } from './routing.js';

/**
 * Authentication of PROTOCOL.md section 5 (when enabled): a JWT from `Authorization: Bearer T`
 * or `?token=T` on the upgrade request, signed with the configured key, whose `topics` claim
 * lists the patterns the client is entitled to. Verification is jose's; this module only picks
 * the key and algorithm, reads the claims and answers whether a pattern is entitled.
 */

export const AUTH_MODES = ['none', 'hs256', 'rs256', 'es256'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface AuthOptions {
  readonly mode: AuthMode;
  /** hs256: the shared secret; rs256/es256: a PEM public key (SPKI or certificate). */
  readonly key: string;
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

const ALGORITHMS = { hs256: 'HS256', rs256: 'RS256', es256: 'ES256' } as const;
const KEY_TYPES = { rs256: 'rsa', es256: 'ec' } as const;

/** The verification key of `mode`, or an Error saying why `key` cannot be one. */
export function verificationKey(mode: Exclude<AuthMode, 'none'>, key: string): KeyObject {
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

/** Verifies tokens with the configured key; one per gateway with authentication enabled. */
export class Authenticator {
  private readonly key: KeyObject;
  private readonly algorithm: string;

  constructor(options: AuthOptions & { mode: Exclude<AuthMode, 'none'> }) {
    this.key = verificationKey(options.mode, options.key);
    this.algorithm = ALGORITHMS[options.mode];
  }

  /** The grant of a valid token; throws AuthError when it is missing, malformed, badly signed, expired, lacks `topics` (UNAUTHENTICATED) or entitles nothing (FORBIDDEN). */
  async verify(token: string | undefined): Promise<Grant> {
    if (token === undefined || token === '') throw new AuthError('unauthenticated: no token');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: [this.algorithm] }));
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
