import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeKey } from './z85.js';

/**
 * A CURVE certificate as pyzmq's `zmq.auth` (czmq's zcert) writes it: a ZPL text file whose
 * `curve` section holds `public-key` and, in the secret certificate, `secret-key`, both Z85.
 */
export interface Certificate {
  readonly file: string;
  /** Z85, 40 characters: what zeromq.js takes as `curvePublicKey` / `curveServerKey`. */
  readonly publicKey: string;
  readonly secretKey?: string;
}

/** A secret certificate: the one a socket needs to take part in a handshake. */
export type SecretCertificate = Certificate & { readonly secretKey: string };

/** A certificate file that cannot be used; the message names the file and what was wrong. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';

  constructor(readonly file: string, problem: string, what = 'certificate') {
    super(`${what} ${file}: ${problem}`);
  }
}

/** Public certificates carry this suffix, secret ones `.key_secret` (pyzmq's and czmq's convention). */
export const PUBLIC_SUFFIX = '.key';
export const SECRET_SUFFIX = '.key_secret';

/** Reads and validates one certificate; with need 'secret' a certificate without `secret-key` is refused. */
export function loadCertificate(file: string, need: 'secret'): SecretCertificate;
export function loadCertificate(file: string, need?: 'public'): Certificate;
export function loadCertificate(file: string, need: 'public' | 'secret' = 'public'): Certificate {
  const entries = curveSection(file, readText(file));
  const publicKey = entries.get('public-key');
  const publicBytes = validKey(file, 'public-key', publicKey);
  const secretKey = entries.get('secret-key');
  if (secretKey === undefined) {
    if (need === 'secret') throw new CertificateError(file, 'no secret-key: this is a public certificate, a secret one (NAME.key_secret) is needed here');
    return { file, publicKey: publicKey! };
  }
  if (!derivedPublicKey(validKey(file, 'secret-key', secretKey)).equals(publicBytes)) {
    throw new CertificateError(file, 'secret-key does not belong to public-key (the file was edited or pieced together)');
  }
  return { file, publicKey: publicKey!, secretKey };
}

/**
 * The public certificates (`*.key`) of a directory, by file name, as pyzmq's
 * `load_certificates` and czmq's certificate store find them. One bad file refuses the lot,
 * so a typo never silently drops an allowed key at start-up.
 */
export function loadPublicKeys(dir: string): Certificate[] {
  const { certificates, problems } = scanPublicKeys(dir);
  if (problems[0] !== undefined) throw problems[0];
  return certificates;
}

/**
 * The same for a directory read again while running: each bad file is reported and left
 * out (its key is not allowed), so one half-written file cannot hold up the revocation of
 * another key. An unreadable directory still throws.
 */
export function scanPublicKeys(dir: string): { certificates: Certificate[]; problems: CertificateError[] } {
  const certificates: Certificate[] = [];
  const problems: CertificateError[] = [];
  for (const name of publicCertificateNames(dir)) {
    try {
      certificates.push(loadCertificate(join(dir, name)));
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      problems.push(err);
    }
  }
  return { certificates, problems };
}

/** The `*.key` files of a directory, sorted. */
export function publicCertificateNames(dir: string): string[] {
  try {
    if (!statSync(dir).isDirectory()) throw new CertificateError(dir, 'not a directory', 'certificate directory');
    return readdirSync(dir).filter((name) => name.endsWith(PUBLIC_SUFFIX)).sort();
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError(dir, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'certificate directory');
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CertificateError(file, 'no such file');
    throw new CertificateError(file, `cannot read it (${code ?? (err as Error).message})`);
  }
}

/**
 * The `name = value` entries of the `curve` section. ZPL: a line without indentation opens a
 * section, an indented one belongs to the section above it; `#` starts a comment line.
 */
function curveSection(file: string, text: string): Map<string, string> {
  const entries = new Map<string, string>();
  let section: string | undefined;
  let sawCurve = false;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!/^\s/.test(raw)) {
      section = line;
      sawCurve ||= section === 'curve';
      continue;
    }
    if (section !== 'curve') continue;
    const match = /^([A-Za-z0-9$\-_@.&+/]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new CertificateError(file, `line ${index + 1} is not "name = value": ${JSON.stringify(line.slice(0, 80))}`);
    const [, name, value] = match as unknown as [string, string, string];
    if (entries.has(name)) throw new CertificateError(file, `${name} appears twice`);
    entries.set(name, unquoted(value));
  }
  if (!sawCurve) throw new CertificateError(file, 'not a CURVE certificate: no "curve" section');
  return entries;
}

/** A ZPL value: quoted with " or ', or bare; either may be followed by a `#` comment (czmq writes none, but reads them). */
function unquoted(value: string): string {
  const quoted = /^"([^"]*)"\s*(?:#.*)?$|^'([^']*)'\s*(?:#.*)?$/.exec(value);
  // Z85 has '#' among its characters, so only a '#' after whitespace starts a comment of a bare value.
  return quoted ? (quoted[1] ?? quoted[2]!) : value.replace(/\s+#.*$/, '');
}

/** The key's 32 bytes; refuses a missing or malformed key, naming the file and the entry. */
function validKey(file: string, name: string, text: string | undefined): Buffer {
  if (text === undefined) throw new CertificateError(file, `not a CURVE certificate: the curve section has no ${name}`);
  const decoded = decodeKey(text);
  if ('error' in decoded) throw new CertificateError(file, `${name} is malformed: ${decoded.error}`);
  return decoded.bytes;
}

/** PKCS#8 wrapping of a raw X25519 private key, so node:crypto derives its public key (as libsodium does). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function derivedPublicKey(secret: Buffer): Buffer {
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  return Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
}
