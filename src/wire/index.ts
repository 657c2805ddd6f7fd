/**
 * The wire contract of PROTOCOL.md: topics, header, records, 3-frame messages (sections 1-3), the
 * one ordering rule, the snapshot protocol (section 4), and SendQueue, the one way to send on a
 * zeromq.js socket. Node-side; the browser-safe modules (topic, order, time, websocket, book-record, checksum, book) are
 * imported by path where the SDK needs them.
 */
export { WireError, REJECT_REASONS, type RejectReason } from './errors.js';
export {
  TOPIC_MAX_BYTES, TOPIC_CLASSES, INSTRUMENT_CLASSES, topicProblem, parseTopic, isSegment, tickTopic, bookTopic, tradeTopic, statusTopic,
  type ParsedTopic, type TopicClass, type InstrumentClass,
} from './topic.js';
export { HEADER_BYTES, WIRE_VERSION, FLAG_SNAPSHOT, encodeHeader, writeHeader, decodeHeader, type Header } from './header.js';
export {
  validateRecord, validateTickRecord, validateStatusRecord, validateTradeRecord, encodeTickRecord, encodeStatusRecord, encodeTradeRecord, encodeBookRecord,
  type TickRecord, type StatusRecord, type VenueState, type TradeRecord, type TradeSide, type AnyRecord,
} from './record.js';
export { validateBookRecord, isBetter, type BookRecord, type BookLevel, type BookAction, type BookSideName } from './book-record.js';
export { CHECKSUM_DEPTH, crc32, formatLevelNumber, checksumString, bookChecksum } from './checksum.js';
export { OrderBook, type OrderBookOptions } from './book.js';
export { BookMerge } from './book-merge.js';
export {
  encodeMessage, decodeMessage, decodeEnvelope, decodeRecord, parseJsonPayload,
  type Envelope, type Frames, type DecodedMessage, type DecodedTick, type DecodedStatus, type DecodedBook, type DecodedTrade,
} from './codec.js';
export { nowMicros } from './time.js';
export { sequence, isNewer, advances, MAX_CLOCK_AHEAD_US, type Sequencing, type Stamp } from './order.js';
export {
  SnapshotCommand, SnapshotStatus, SnapshotErrorCode, SNAPSHOT_RETRYABLE, SnapshotRequestError,
  encodeSnapshotRequest, parseSnapshotRequest, isSnapshotCommand, encodeRecordsReply, recordsReplyHead, appendRecord, encodeErrorReply, encodePong, parseSnapshotReply,
  type SnapshotRequest, type SnapshotReply,
} from './snapshot.js';
export { SendQueue, type SendTarget } from './send-queue.js';
export {
  WS_PATH, MAX_REQUEST_BYTES, MAX_PATTERNS_PER_REQUEST, ErrorCode, ERROR_CODES, ERROR_RETRY, isErrorCode, isRetryable, CloseCode, closeAction,
  patternMatches, patternProblem, parseRequest, RequestError,
  type RequestId, type Position, type ClientRequest, type SubscribeRequest, type UnsubscribeRequest, type ListRequest, type PingRequest,
  type ParsedRequest, type ParsedSubscribe, type ServerEvent, type WelcomeEvent, type SubscribedEvent, type UnsubscribedEvent,
  type TopicsEvent, type PongEvent, type RecordEvent, type HeartbeatEvent, type StatusEvent, type ErrorEvent, type ErrorRetry, type CloseAction,
} from './websocket.js';
