/**
 * The benchmark's own CurveZMQ certificates (PROTOCOL.md section 7), written fresh in a temp
 * directory per run as an operator would with `tickfan keys`: one server certificate for every
 * server socket, and a key pair each for the publisher and the subscriber, whose public
 * certificates are the only ones in the publishers and subscribers directories.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import { writeKeyPair, type CurveSettings } from '../../src/curve/index.js';

/** The processes of a point, each with the curve.* settings it would have in a real deployment. */
export type CurveRole = 'proxy' | 'publisher' | 'subscriber';

export class BenchKeys {
  private constructor(
    readonly dir: string,
    private readonly server: { publicFile: string; secretFile: string },
    private readonly secrets: { publisher: string; subscriber: string },
  ) {}

  static create(): BenchKeys {
    const dir = mkdtempSync(join(os.tmpdir(), 'tickfan-bench-curve-'));
    const certificates = join(dir, 'certificates');
    const server = writeKeyPair(certificates, 'server');
    const allowed = (name: 'publisher' | 'subscriber', peers: string): string => {
      const pair = writeKeyPair(certificates, name);
      mkdirSync(join(dir, peers));
      // Only the public certificate is handed to the servers, as an operator would.
      copyFileSync(pair.publicFile, join(dir, peers, basename(pair.publicFile)));
      return pair.secretFile;
    };
    return new BenchKeys(dir, server, { publisher: allowed('publisher', 'publishers'), subscriber: allowed('subscriber', 'subscribers') });
  }

  /**
   * The curve.* settings of one process. Every process gets the server side too, as the proxy
   * needs it and the publisher binds as a server in the direct configuration; FabricSecurity
   * reads only what the process's sockets use.
   */
  settings(role: CurveRole): CurveSettings {
    return {
      enabled: true,
      serverCertificate: this.server.secretFile,
      serverKey: this.server.publicFile,
      certificate: role === 'proxy' ? '' : this.secrets[role],
      publishers: join(this.dir, 'publishers'),
      subscribers: join(this.dir, 'subscribers'),
    };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
