/** The library surface of tickfan: the wire contract and the ZeroMQ client. Roles run through the CLI. */
export * from './wire/index.js';
export { TickStream, type TickStreamOptions } from './client/zmq/index.js';
