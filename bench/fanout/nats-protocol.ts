/**
 * The client side of the NATS text protocol that the bench's NATS peer needs: the operations
 * a subscriber receives (INFO, MSG, PING, PONG, +OK, -ERR) parsed from a byte stream that
 * arrives in arbitrary chunks (over WebSocket, nats-server cuts its frames wherever its
 * write buffer ends, so a MSG may span frames), and the few lines a client sends.
 *
 * A MSG is handed over as ranges of the bytes it arrived in, valid only during the call: the
 * load side must not allocate per event. Only an operation cut by a chunk's end is copied,
 * and only the bytes it still needs from the next chunk.
 */

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** A protocol line (INFO's JSON is the longest) beyond this without its end is a broken stream, not a slow one. */
const MAX_LINE_BYTES = 64 * 1024;
/** nats-server's default max_payload; a larger MSG is a broken stream. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface NatsHandler {
  /** A MSG: its subject is data[subjectStart, subjectEnd), its payload data[payloadStart, payloadEnd). */
  msg(data: Buffer, subjectStart: number, subjectEnd: number, payloadStart: number, payloadEnd: number): void;
  ping(): void;
  pong(): void;
  /** The server's INFO JSON, as text. */
  info(json: string): void;
  /** A -ERR line's message. */
  error(message: string): void;
}

export class NatsParser {
  /** An operation cut by the end of a chunk: pending[0, pendingLength). */
  private pending = Buffer.allocUnsafe(4096);
  private pendingLength = 0;

  constructor(private readonly handler: NatsHandler) {}

  /** Parses data[start, end), the next bytes of the stream; throws on bytes that are not the NATS protocol. */
  push(data: Buffer, start: number, end: number): void {
    let at = start;
    if (this.pendingLength > 0) {
      at = this.completePending(data, start, end);
      if (this.pendingLength > 0) return;
    }
    const rest = this.parse(data, at, end);
    if (rest < end) this.keep(data, rest, end);
  }

  /** Moves into `pending` the bytes of data[start, end) that the cut operation still needs; returns where the rest begins. */
  private completePending(data: Buffer, start: number, end: number): number {
    let at = start;
    let lineEnd = lineEndIn(this.pending, 0, this.pendingLength);
    if (lineEnd < 0) {
      const lf = lineEndIn(data, at, end);
      const upTo = lf < 0 ? end : lf + 1;
      this.keep(data, at, upTo);
      at = upTo;
      if (lf < 0) return at;
      lineEnd = this.pendingLength - 1;
    }
    const needed = operationLength(this.pending, 0, lineEnd);
    if (needed > this.pendingLength) {
      const upTo = Math.min(end, at + needed - this.pendingLength);
      this.keep(data, at, upTo);
      at = upTo;
      if (this.pendingLength < needed) return at;
    }
    const consumed = this.parse(this.pending, 0, this.pendingLength);
    if (consumed !== this.pendingLength) throw new Error('internal: a completed NATS operation did not parse whole');
    this.pendingLength = 0;
    return at;
  }

  /** Handles every whole operation in data[at, end); returns where the first incomplete one begins. */
  private parse(data: Buffer, at: number, end: number): number {
    while (at < end) {
      const lineEnd = lineEndIn(data, at, end);
      if (lineEnd < 0) {
        if (end - at > MAX_LINE_BYTES) throw new Error(`a NATS protocol line longer than ${MAX_LINE_BYTES} bytes: ${preview(data, at, end)}`);
        return at;
      }
      const next = this.operation(data, at, lineEnd, end);
      if (next < 0) return at;
      at = next;
    }
    return at;
  }

  /** The operation whose line is data[at, lineEnd] (lineEnd at its LF); returns where the next begins, -1 when its payload is not all there. */
  private operation(data: Buffer, at: number, lineEnd: number, end: number): number {
    const textEnd = data[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (startsWith(data, at, textEnd, 'MSG ')) {
      const { subjectStart, subjectEnd, size } = msgLine(data, at, textEnd);
      const payloadStart = lineEnd + 1;
      const payloadEnd = payloadStart + size;
      if (payloadEnd + 2 > end) return -1;
      if (data[payloadEnd] !== CR || data[payloadEnd + 1] !== LF) throw new Error(`a NATS MSG payload not followed by CRLF: ${preview(data, at, textEnd)}`);
      this.handler.msg(data, subjectStart, subjectEnd, payloadStart, payloadEnd);
      return payloadEnd + 2;
    }
    const line = data.toString('latin1', at, textEnd);
    if (line === 'PING') this.handler.ping();
    else if (line === 'PONG') this.handler.pong();
    else if (line.startsWith('INFO ')) this.handler.info(line.slice(5));
    else if (line.startsWith('-ERR')) this.handler.error(line.slice(4).trim());
    else if (line !== '+OK') throw new Error(`an unknown NATS operation: ${JSON.stringify(line.slice(0, 200))}`);
    return lineEnd + 1;
  }

  private keep(data: Buffer, start: number, end: number): void {
    const length = this.pendingLength + end - start;
    if (length > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(length, 2 * this.pending.length));
      this.pending.copy(grown, 0, 0, this.pendingLength);
      this.pending = grown;
    }
    data.copy(this.pending, this.pendingLength, start, end);
    this.pendingLength = length;
  }
}

/** The LF ending the line that starts at `at`, or -1 when data[at, end) holds none. */
function lineEndIn(data: Buffer, at: number, end: number): number {
  for (let i = at; i < end; i++) if (data[i] === LF) return i;
  return -1;
}

/** The whole length of the operation whose line is data[at, lineEnd]: the line, and for a MSG its payload and CRLF. */
function operationLength(data: Buffer, at: number, lineEnd: number): number {
  const textEnd = data[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  const lineLength = lineEnd + 1 - at;
  return startsWith(data, at, textEnd, 'MSG ') ? lineLength + msgLine(data, at, textEnd).size + 2 : lineLength;
}

/** `MSG <subject> <sid> [reply-to] <#bytes>`: the subject's range and the payload size. */
function msgLine(data: Buffer, at: number, textEnd: number): { subjectStart: number; subjectEnd: number; size: number } {
  const subjectStart = at + 4;
  let subjectEnd = subjectStart;
  while (subjectEnd < textEnd && data[subjectEnd] !== SPACE) subjectEnd++;
  let sizeStart = textEnd;
  while (sizeStart > subjectEnd && data[sizeStart - 1]! >= DIGIT_0 && data[sizeStart - 1]! <= DIGIT_9) sizeStart--;
  let size = 0;
  for (let i = sizeStart; i < textEnd; i++) size = size * 10 + (data[i]! - DIGIT_0);
  // At least a sid between subject and size, and a size that is there and sane.
  if (subjectEnd === subjectStart || sizeStart === textEnd || data[sizeStart - 1] !== SPACE || sizeStart - 1 <= subjectEnd + 1 || size > MAX_PAYLOAD_BYTES) {
    throw new Error(`a malformed NATS MSG line: ${preview(data, at, textEnd)}`);
  }
  return { subjectStart, subjectEnd, size };
}

function startsWith(data: Buffer, at: number, end: number, prefix: string): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[at + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

function preview(data: Buffer, start: number, end: number): string {
  return JSON.stringify(data.toString('latin1', start, Math.min(end, start + 200)));
}

/** What a subscriber sends first: CONNECT (no echo, no +OK), its SUBs, and a PING whose PONG says the server has them all. */
export function subscribeLines(subjects: readonly string[]): string {
  const connect = JSON.stringify({ verbose: false, pedantic: false, protocol: 1, headers: false, echo: false, lang: 'tickfan-bench', version: '1' });
  return `CONNECT ${connect}\r\n${subjects.map((subject, i) => `SUB ${subject} ${i + 1}\r\n`).join('')}PING\r\n`;
}

/** A publisher's CONNECT, and a PING whose PONG says the server has taken it. */
export function publisherConnectLines(): string {
  return `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, headers: false, lang: 'tickfan-bench', version: '1' })}\r\nPING\r\n`;
}

/** One PUB of an ASCII payload. */
export function pubLine(subject: string, payload: string): string {
  return `PUB ${subject} ${payload.length}\r\n${payload}\r\n`;
}
