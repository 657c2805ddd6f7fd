import type convict from 'convict';
import { BOOLEAN } from '../config/index.js';

/** PROTOCOL.md section 7: CurveZMQ on every fabric socket, off by default. */
export interface CurveSettings {
  readonly enabled: boolean;
  readonly serverCertificate: string;
  readonly serverKey: string;
  readonly certificate: string;
  readonly publishers: string;
  readonly subscribers: string;
}

/** Which settings a certificate comes from, so a refusal names the one to fix. */
export type CurveSetting = `curve.${Exclude<keyof CurveSettings, 'enabled'>}`;

const PATH = { format: String, default: '' } as const;

export const curveSchema: convict.Schema<{ curve: CurveSettings }> = {
  curve: {
    enabled: {
      doc: 'Every ZeroMQ socket tickfan binds is a CURVE server and every one it connects a CURVE client: the fabric is encrypted, and only the keys in curve.publishers may publish, only those in curve.subscribers may read (PROTOCOL.md section 7, docs/security.md).',
      format: BOOLEAN, default: false,
    },
    serverCertificate: { ...PATH, doc: 'Secret certificate (NAME.key_secret) of the server sockets this process binds: proxy frontend and backend, snapshot service, ingest. Needed by the roles that bind them.' },
    serverKey: { ...PATH, doc: "Public certificate (NAME.key) of the fabric's servers, which every socket this process connects checks it is talking to." },
    certificate: { ...PATH, doc: "This process's own secret certificate, which its connecting sockets (feed publisher, subscribers, snapshot requests, proxy.upstream) present; its public key must be in the servers' curve.publishers or curve.subscribers." },
    publishers: { ...PATH, doc: 'Directory of public certificates (*.key) allowed to publish: to the proxy frontend and to ingest. Read again when it changes; a removed key stops working within seconds.' },
    subscribers: { ...PATH, doc: 'Directory of public certificates (*.key) allowed to read: from the proxy backend and the snapshot service. Read again when it changes; a removed key stops working within seconds.' },
  },
};
