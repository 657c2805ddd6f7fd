import { WireError } from './errors.js';

/** PROTOCOL.md section 3: the 24-byte big-endian header of frame 1. */
export const HEADER_BYTES = 24;
export const WIRE_VERSION = 1;
/** Flag bit 0: the record comes from a snapshot or replay, not the live stream. */
export const FLAG_SNAPSHOT = 0x01;
const KNOWN_FLAGS = FLAG_SNAPSHOT;

const TWO_POW_32 = 0x1_0000_0000;
/** seq and ts are uint64 on the wire but kept below 2^53 so a JS number holds them exactly. */
const MAX_HIGH_WORD = 0x1f_ffff;

export interface Header {
  readonly flags: number;
  readonly epoch: number;
  readonly seq: number;
  /** Microseconds since the Unix epoch at which the source published. */
  readonly ts: number;
}

export function encodeHeader(header: Header): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(buf, header);
  return buf;
}

/** Writes into a caller-owned buffer, so a publisher can avoid one allocation per tick. */
export function writeHeader(buf: Buffer, { flags, epoch, seq, ts }: Header): void {
  buf[0] = WIRE_VERSION;
  buf[1] = flags;
  buf.writeUInt16BE(0, 2);
  buf.writeUInt32BE(epoch, 4);
  writeUint53(buf, 8, seq);
  writeUint53(buf, 16, ts);
}

export function decodeHeader(buf: Buffer): Header {
  if (buf.length !== HEADER_BYTES) {
    throw new WireError('header', `header is ${buf.length} bytes, expected ${HEADER_BYTES}`);
  }
  const version = buf[0];
  if (version !== WIRE_VERSION) throw new WireError('version', `header version is ${version}, expected ${WIRE_VERSION}`);
  const flags = buf[1]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new WireError('flags', `header flags 0x${flags.toString(16)} set a bit other than bit 0`);
  if (buf.readUInt16BE(2) !== 0) throw new WireError('reserved', 'header reserved bytes 2-3 are not zero');
  const epoch = buf.readUInt32BE(4);
  if (epoch === 0) throw new WireError('epoch', 'header epoch is 0, must be non-zero');
  const seq = readUint53(buf, 8, 'seq');
  if (seq === 0) throw new WireError('seq', 'header seq is 0, seq starts at 1');
  const ts = readUint53(buf, 16, 'ts');
  return { flags, epoch, seq, ts };
}

function writeUint53(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  buf.writeUInt32BE(value % TWO_POW_32, offset + 4);
}

function readUint53(buf: Buffer, offset: number, field: 'seq' | 'ts'): number {
  const high = buf.readUInt32BE(offset);
  if (high > MAX_HIGH_WORD) throw new WireError(field, `header ${field} is 2^53 or more`);
  return high * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}
