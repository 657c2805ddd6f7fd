/**
 * The library surface of tickfan: the wire contract and the ZeroMQ clients (a decoded live
 * stream of one line or of every A/B line, the snapshot service's client, the clone-pattern late joiner). Roles run through the
 * CLI; the WebSocket SDK is `tickfan/client`.
 */
export * from './wire/index.js';
export {
  TickStream, LineSet, SnapshotClient, SnapshotError, SnapshotUnavailable, TickSubscriber,
  type TickStreamOptions, type LineSetOptions, type LineStatus, type SnapshotClientOptions, type TickSubscriberOptions, type TopicEntry, type Update, type SubscriberCounters,
} from './client/zmq/index.js';
/** CurveZMQ for those clients (their `curve` option): certificates in pyzmq's zmq.auth format. */
export { loadCertificate, CertificateError, type Certificate, type CurveClientKeys } from './curve/index.js';
