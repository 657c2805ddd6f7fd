/**
 * The tickfan WebSocket client SDK (PROTOCOL.md section 5), for Node and browsers:
 *
 *     import { connect } from 'tickfan/client';
 *     const client = await connect('ws://localhost:8080/v1/ws');
 *     await client.subscribe(['tick.SIM.*']);
 *     for await (const update of client.updates()) console.log(update.topic, update.seq, update.record);
 *
 * Nothing here imports a Node module: in Node 20 the `ws` package is loaded on first use
 * when there is no global WebSocket (or pass `options.WebSocket`).
 */
export { connect, TickfanClient } from './client.js';
export type {
  BookChange,
  ClientCounters,
  ClientEvents,
  ConnectOptions,
  ConnectionState,
  StateChange,
  SubscribeOptions,
  TopicState,
  Update,
} from './types.js';
export type { BookView, BookResync, BookDropReason } from '../books.js';
export type { BookLevel, BookRecord } from '../../wire/book-record.js';
export { TickfanError, type ClientErrorCode, type ServerErrorCode, type TickfanErrorCode } from './errors.js';
export { backoffDelay, baseDelay, type BackoffOptions } from '../../util/backoff.js';
export type { Listener } from './emitter.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export {
  CloseCode,
  ErrorCode,
  MAX_PATTERNS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  patternMatches,
  WS_PATH,
  type ClientRequest,
  type ErrorEvent,
  type HeartbeatEvent,
  type Position,
  type RecordEvent,
  type RequestId,
  type ServerEvent,
  type StatusEvent,
  type StatusRecord,
  type TickRecord,
  type WelcomeEvent,
} from '../../wire/websocket.js';
