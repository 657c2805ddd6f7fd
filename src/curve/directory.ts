import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from '../log/index.js';
import { CertificateError, loadPublicKeys, publicCertificateNames, scanPublicKeys, type Certificate } from './certificate.js';
import { CurveError } from './errors.js';
import type { CurveSetting } from './settings.js';
import { decodeKey } from './z85.js';

/** How often a key directory is looked at for changes: a revoked key stops working within about this long. */
export const KEY_DIRECTORY_POLL_MS = 1000;

/**
 * A directory of allowed public keys (curve.publishers or curve.subscribers), read at start and
 * again whenever a file in it changes. Polled rather than fs.watch'ed: watching misses changes
 * on some filesystems (network and container mounts), and a stat of a few files a second costs
 * nothing.
 */
export class KeyDirectory {
  /** Reads that found a bad certificate or an unreadable directory (the keys held are kept). */
  reloadFailures = 0;
  /** Each certificate file's key (hex of its 32 bytes), by file name. */
  private keys: ReadonlyMap<string, string>;
  private allowed: ReadonlySet<string>;
  private signature: string;
  private readonly timer: NodeJS.Timeout;

  /**
   * Refuses (CurveError naming the setting) a directory that cannot be read or holds a bad
   * certificate: at start-up a typo must not silently leave a key out.
   */
  constructor(
    readonly dir: string,
    readonly setting: CurveSetting,
    private readonly log: Logger,
    /** Told after every change, with whether a key was taken away (open connections then have to go). */
    private readonly onChange: (revoked: boolean) => void,
    pollMs = KEY_DIRECTORY_POLL_MS,
  ) {
    try {
      this.signature = directorySignature(dir);
      this.keys = keysByName(loadPublicKeys(dir));
    } catch (err) {
      if (err instanceof CertificateError) throw new CurveError(setting, err.message);
      throw err;
    }
    this.allowed = new Set(this.keys.values());
    this.timer = setInterval(() => this.poll(), pollMs).unref();
  }

  get size(): number {
    return this.allowed.size;
  }

  /** Whether the 32-byte public key of a handshake is one of this directory's. */
  allows(key: Buffer): boolean {
    return this.allowed.has(key.toString('hex'));
  }

  close(): void {
    clearInterval(this.timer);
  }

  private poll(): void {
    try {
      const signature = directorySignature(this.dir);
      if (signature === this.signature) return;
      this.signature = signature;
      const { certificates, problems } = scanPublicKeys(this.dir);
      const keys = new Map(keysByName(certificates));
      for (const problem of problems) {
        this.reloadFailures++;
        // A file being rewritten in place reads half-written for a moment: it keeps the key it had.
        const kept = this.keys.get(basename(problem.file));
        if (kept !== undefined) keys.set(basename(problem.file), kept);
        this.log.error({ setting: this.setting, err: problem.message, keptPreviousKey: kept !== undefined }, 'certificate cannot be read; a key it held before stays allowed, a new one is not');
      }
      const allowed = new Set(keys.values());
      const revoked = [...this.allowed].some((key) => !allowed.has(key));
      const added = [...allowed].filter((key) => !this.allowed.has(key)).length;
      this.keys = keys;
      this.allowed = allowed;
      this.log.info({ setting: this.setting, dir: this.dir, keys: allowed.size, added, revoked }, 'certificate directory read again');
      this.onChange(revoked);
    } catch (err) {
      // Keeps the keys it holds: a directory that went away for a moment must not lock every peer out.
      this.reloadFailures++;
      this.log.error({ setting: this.setting, err: (err as Error).message }, 'certificate directory cannot be read; keeping the keys read before');
    }
  }
}

function keysByName(certificates: readonly Certificate[]): Map<string, string> {
  return new Map(certificates.map(({ file, publicKey }) => [basename(file), keyHex(publicKey)]));
}

/** A validated certificate's key always decodes. */
function keyHex(publicKey: string): string {
  return (decodeKey(publicKey) as { bytes: Buffer }).bytes.toString('hex');
}

/** Names, sizes, inodes and times of the *.key files: changes whenever one is added, removed, replaced or edited. */
function directorySignature(dir: string): string {
  return publicCertificateNames(dir).map((name) => {
    try {
      const stat = statSync(join(dir, name));
      return `${name}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      return `${name}:gone`;
    }
  }).join('|');
}
