import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { capability, curveKeyPair } from 'zeromq';
import { PUBLIC_SUFFIX, SECRET_SUFFIX } from './certificate.js';

/** Why a key pair was not written: the message names the file or what is missing. */
export class KeysError extends Error {
  override readonly name = 'KeysError';
}

export interface WrittenPair {
  readonly publicKey: string;
  readonly publicFile: string;
  readonly secretFile: string;
}

// The banners of pyzmq's zmq.auth.create_certificates, with tickfan named as the writer.
const PUBLIC_BANNER = [
  '#   ZeroMQ CURVE Public Certificate',
  '#   Exchange securely, or use a secure mechanism to verify the contents',
  '#   of this file after exchange. Store public certificates in your home',
  '#   directory, in the .curve subdirectory.',
];
const SECRET_BANNER = [
  '#   ZeroMQ CURVE **Secret** Certificate',
  '#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.',
];

/**
 * Writes a new CURVE key pair as DIR/NAME.key (public) and DIR/NAME.key_secret (secret,
 * mode 0600), in the format of pyzmq's `zmq.auth.create_certificates`. Creates DIR if missing;
 * never replaces an existing certificate.
 */
export function writeKeyPair(dir: string, name: string, now: Date = new Date()): WrittenPair {
  if (!capability.curve) throw new KeysError('this zeromq build has no CURVE support (zmq.capability.curve is false); install a zeromq built with libsodium');
  if (name === '' || /[/\\]/.test(name) || name === '.' || name === '..') throw new KeysError(`NAME must be a plain file name, got ${JSON.stringify(name)}`);
  const publicFile = join(dir, `${name}${PUBLIC_SUFFIX}`);
  const secretFile = join(dir, `${name}${SECRET_SUFFIX}`);
  // Both checked before either is written, so a refusal never leaves half a new pair behind.
  for (const file of [publicFile, secretFile]) {
    if (existsSync(file)) throw new KeysError(`${file} exists; refusing to overwrite a certificate (remove it first to replace the pair)`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new KeysError(`cannot create the directory ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const { publicKey, secretKey } = curveKeyPair();
  const generated = `#   ****  Generated on ${now.toISOString()} by tickfan  ****`;
  writeNew(secretFile, 0o600, [generated, ...SECRET_BANNER, '', 'metadata', 'curve', `    public-key = "${publicKey}"`, `    secret-key = "${secretKey}"`]);
  writeNew(publicFile, 0o644, [generated, ...PUBLIC_BANNER, '', 'metadata', 'curve', `    public-key = "${publicKey}"`]);
  return { publicKey, publicFile, secretFile };
}

/** Creates the file with its mode from the start ('wx': fails if it appeared meanwhile), so the secret is never readable by others. */
function writeNew(file: string, mode: number, lines: readonly string[]): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeysError(code === 'EEXIST' ? `${file} exists; refusing to overwrite a certificate` : `cannot create ${file} (${code ?? (err as Error).message})`);
  }
  try {
    writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}
