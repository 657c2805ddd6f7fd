/**
 * The snapshot service's request/reply contract (PROTOCOL.md section 4), used by the service
 * and by every client of it: the command and reply words, the error codes and what a client
 * does on each, and the encoding and parsing of both sides.
 */
import { WireError } from './errors.js';
import { decodeMessage, type DecodedMessage, type Frames } from './codec.js';
import { FLAG_SNAPSHOT } from './header.js';
import { TOPIC_MAX_BYTES, topicProblem } from './topic.js';

export const SnapshotCommand = { SNAPSHOT: 'SNAPSHOT', REPLAY: 'REPLAY', PING: 'PING' } as const;
export type SnapshotCommand = (typeof SnapshotCommand)[keyof typeof SnapshotCommand];

/** The first frame of every reply. */
export const SnapshotStatus = { OK: 'OK', ERR: 'ERR', PONG: 'PONG' } as const;

export const SnapshotErrorCode = {
  /** The request is malformed: the client's fault; the same request is never sent again. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** REPLAY: the history no longer reaches back that far, or the epoch is not the topic's current one: take a fresh snapshot. */
  GONE: 'GONE',
  /** SNAPSHOT: more topics match than one reply may carry: narrow the prefix. */
  TOO_LARGE: 'TOO_LARGE',
  /** Temporary: the service cannot answer this now; retry after a short delay or ask the next service. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type SnapshotErrorCode = (typeof SnapshotErrorCode)[keyof typeof SnapshotErrorCode];

/** Whether the same request may be sent again after this error (later, or to the next service). */
export const SNAPSHOT_RETRYABLE: Readonly<Record<SnapshotErrorCode, boolean>> = {
  BAD_REQUEST: false,
  GONE: false,
  TOO_LARGE: false,
  UNAVAILABLE: true,
};

export type SnapshotRequest =
  | { readonly command: 'SNAPSHOT'; readonly prefix: string }
  | { readonly command: 'REPLAY'; readonly topic: string; readonly epoch: number; readonly fromSeq: number }
  | { readonly command: 'PING' };

/** A request the service cannot parse: answered `ERR BAD_REQUEST` with this message. */
export class SnapshotRequestError extends Error {
  override readonly name = 'SnapshotRequestError';
}

const COMMANDS: readonly string[] = Object.values(SnapshotCommand);
const EXPECTED_COMMANDS = `${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS.at(-1)}`;
const FRAME_COUNTS: Readonly<Record<SnapshotCommand, number>> = { SNAPSHOT: 2, REPLAY: 4, PING: 1 };
/** No valid request frame comes near this; bigger ones are refused before being decoded. */
const MAX_REQUEST_FRAME_BYTES = 256;
const DECIMAL = /^[0-9]{1,16}$/;

/** The frames of a request, as a REQ socket sends them (a DEALER puts the empty delimiter first). */
export function encodeSnapshotRequest(request: SnapshotRequest): string[] {
  switch (request.command) {
    case SnapshotCommand.PING:
      return [SnapshotCommand.PING];
    case SnapshotCommand.SNAPSHOT:
      return [SnapshotCommand.SNAPSHOT, request.prefix];
    case SnapshotCommand.REPLAY:
      return [SnapshotCommand.REPLAY, request.topic, String(request.epoch), String(request.fromSeq)];
  }
}

/** Whether a frame is a command word: among routing ids, it shows a DEALER left out the delimiter. */
export function isSnapshotCommand(frame: Buffer): boolean {
  return COMMANDS.includes(frame.toString('latin1'));
}

/** Parses a request body; throws SnapshotRequestError with a message naming what is wrong. */
export function parseSnapshotRequest(body: readonly Buffer[]): SnapshotRequest {
  if (body.length === 0) throw new SnapshotRequestError(`empty request: expected ${EXPECTED_COMMANDS}`);
  body.forEach((frame, i) => {
    if (frame.length > MAX_REQUEST_FRAME_BYTES) throw new SnapshotRequestError(`frame ${i} is ${frame.length} bytes, at most ${MAX_REQUEST_FRAME_BYTES} allowed`);
  });
  const command = body[0]!.toString('latin1');
  if (!COMMANDS.includes(command)) throw new SnapshotRequestError(`unknown command ${quoted(body[0]!)}: expected ${EXPECTED_COMMANDS}`);
  const expected = FRAME_COUNTS[command as SnapshotCommand];
  if (body.length !== expected) throw new SnapshotRequestError(`${command} takes ${expected} frames, got ${body.length}`);
  switch (command as SnapshotCommand) {
    case 'PING':
      return { command: 'PING' };
    case 'SNAPSHOT':
      return { command: 'SNAPSHOT', prefix: asciiFrame(body[1]!, 'prefix') };
    case 'REPLAY': {
      const topic = asciiFrame(body[1]!, 'topic');
      const problem = topicProblem(topic);
      if (problem !== undefined) throw new SnapshotRequestError(problem);
      const epoch = decimalFrame(body[2]!, 'epoch', 1, 0xffff_ffff);
      const fromSeq = decimalFrame(body[3]!, 'fromSeq', 1, Number.MAX_SAFE_INTEGER);
      return { command: 'REPLAY', topic, epoch, fromSeq };
    }
  }
}

const OK_FRAME = Buffer.from(SnapshotStatus.OK);
const ERR_FRAME = Buffer.from(SnapshotStatus.ERR);
const PONG_FRAMES: readonly Buffer[] = [Buffer.from(SnapshotStatus.PONG)];

export function encodePong(): Buffer[] {
  return [...PONG_FRAMES];
}

/** `OK, count, count x (topic, header, payload)`, each header with flag bit 0 set (a snapshot or replayed record). */
export function encodeRecordsReply(records: readonly Frames[]): Buffer[] {
  const reply = recordsReplyHead(records.length);
  for (const record of records) appendRecord(reply, record);
  return reply;
}

/** The `OK, count` that start a reply of `count` records, for a reply built a few records at a time with appendRecord. */
export function recordsReplyHead(count: number): Buffer[] {
  return [OK_FRAME, Buffer.from(String(count))];
}

/** Adds one record to a reply begun with recordsReplyHead, its header flagged. */
export function appendRecord(reply: Buffer[], [topic, header, payload]: Frames): void {
  reply.push(topic, flagged(header), payload);
}

export function encodeErrorReply(code: SnapshotErrorCode, text: string): Buffer[] {
  return [ERR_FRAME, Buffer.from(code), Buffer.from(text)];
}

export type SnapshotReply =
  | { readonly status: 'OK'; readonly records: DecodedMessage[] }
  | { readonly status: 'ERR'; readonly code: SnapshotErrorCode; readonly text: string }
  | { readonly status: 'PONG' };

/**
 * Parses a reply body (after the delimiter). Throws a WireError ('reply') for anything that is
 * not one of the three shapes of section 4, or ('frame_count', 'header', ...) for a record
 * that breaks the data contract.
 */
export function parseSnapshotReply(reply: readonly Buffer[]): SnapshotReply {
  const status = reply[0]?.toString('latin1');
  if (status === SnapshotStatus.PONG && reply.length === 1) return { status: 'PONG' };
  if (status === SnapshotStatus.ERR) {
    const code = reply[1]?.toString('latin1') ?? '';
    if (reply.length !== 3 || !Object.hasOwn(SNAPSHOT_RETRYABLE, code)) {
      throw new WireError('reply', `malformed snapshot reply: ERR with ${reply.length} frames and code ${JSON.stringify(code.slice(0, 32))}`);
    }
    return { status: 'ERR', code: code as SnapshotErrorCode, text: reply[2]!.toString('utf8') };
  }
  const countText = reply[1]?.toString('latin1') ?? '';
  const count = DECIMAL.test(countText) ? Number(countText) : Number.NaN;
  if (status !== SnapshotStatus.OK || !Number.isSafeInteger(count) || reply.length !== 2 + 3 * count) {
    throw new WireError('reply', `malformed snapshot reply: ${reply.length} frames, status ${JSON.stringify(status?.slice(0, 8))}, count ${JSON.stringify(countText.slice(0, 20))}`);
  }
  const records: DecodedMessage[] = [];
  for (let i = 2; i < reply.length; i += 3) records.push(decodeMessage(reply.slice(i, i + 3)));
  return { status: 'OK', records };
}

/** A copy of a header with flag bit 0 set; the held frame stays as received. */
function flagged(header: Buffer): Buffer {
  const copy = Buffer.from(header);
  copy[1] = copy[1]! | FLAG_SNAPSHOT;
  return copy;
}

function asciiFrame(frame: Buffer, name: string): string {
  if (frame.length > TOPIC_MAX_BYTES) throw new SnapshotRequestError(`${name} is ${frame.length} bytes, at most ${TOPIC_MAX_BYTES} allowed`);
  for (const byte of frame) {
    if (byte < 0x20 || byte > 0x7e) throw new SnapshotRequestError(`${name} is not printable ASCII`);
  }
  return frame.toString('latin1');
}

function decimalFrame(frame: Buffer, name: string, min: number, max: number): number {
  const text = frame.toString('latin1');
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new SnapshotRequestError(`${name} ${quoted(frame)} is not an ASCII decimal from ${min} to ${max}`);
  }
  return value;
}

/**
 * A frame's first bytes for an error text: printable ASCII as is, any other byte as \xNN. The
 * text goes back to the client as UTF-8 and into the log, where raw bytes would come out garbled.
 */
function quoted(frame: Buffer, max = 32): string {
  let text = '';
  for (const byte of frame.subarray(0, max)) {
    const plain = byte >= 0x20 && byte <= 0x7e && byte !== 0x22 && byte !== 0x5c;
    text += plain ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${text}"${frame.length > max ? '...' : ''}`;
}
