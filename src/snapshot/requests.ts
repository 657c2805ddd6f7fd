import { TOPIC_MAX_BYTES, topicProblem } from '../wire/index.js';

/** PROTOCOL.md section 4, the request side. */
export type Request =
  | { readonly command: 'SNAPSHOT'; readonly prefix: string }
  | { readonly command: 'REPLAY'; readonly topic: string; readonly epoch: number; readonly fromSeq: number }
  | { readonly command: 'PING' };

export type Command = Request['command'];
export const COMMANDS: readonly Command[] = ['SNAPSHOT', 'REPLAY', 'PING'];

export class BadRequest extends Error {}

const FRAME_COUNTS: Record<Command, number> = { SNAPSHOT: 2, REPLAY: 4, PING: 1 };
/** No valid request frame comes near this; bigger ones are refused before being decoded. */
const MAX_FRAME_BYTES = 256;
const DECIMAL = /^[0-9]{1,16}$/;

/**
 * Splits a ROUTER message into the routing envelope (up to the empty delimiter) and the request
 * body; undefined when the delimiter is missing. A command word among the routing ids means a
 * DEALER sent its request without the delimiter, and an empty frame of the request itself (the
 * empty prefix of `SNAPSHOT ""`, an empty field) was about to be taken for it.
 */
export function splitEnvelope(frames: readonly Buffer[]): { envelope: Buffer[]; body: Buffer[] } | undefined {
  const delimiter = frames.findIndex((frame) => frame.length === 0);
  if (delimiter < 1) return undefined;
  for (let i = 1; i < delimiter; i++) {
    if ((COMMANDS as readonly string[]).includes(frames[i]!.toString('latin1'))) return undefined;
  }
  return { envelope: frames.slice(0, delimiter + 1), body: frames.slice(delimiter + 1) };
}

/** Parses a request body; throws BadRequest with a message naming what is wrong. */
export function parseRequest(body: readonly Buffer[]): Request {
  if (body.length === 0) throw new BadRequest('empty request: expected SNAPSHOT, REPLAY or PING');
  body.forEach((frame, i) => {
    if (frame.length > MAX_FRAME_BYTES) throw new BadRequest(`frame ${i} is ${frame.length} bytes, at most ${MAX_FRAME_BYTES} allowed`);
  });
  const command = body[0]!.toString('latin1');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new BadRequest(`unknown command ${quoted(body[0]!)}: expected SNAPSHOT, REPLAY or PING`);
  }
  const expected = FRAME_COUNTS[command as Command];
  if (body.length !== expected) throw new BadRequest(`${command} takes ${expected} frames, got ${body.length}`);
  switch (command as Command) {
    case 'PING':
      return { command: 'PING' };
    case 'SNAPSHOT':
      return { command: 'SNAPSHOT', prefix: asciiFrame(body[1]!, 'prefix') };
    case 'REPLAY': {
      const topic = asciiFrame(body[1]!, 'topic');
      const problem = topicProblem(topic);
      if (problem !== undefined) throw new BadRequest(problem);
      const epoch = decimalFrame(body[2]!, 'epoch', 1, 0xffff_ffff);
      const fromSeq = decimalFrame(body[3]!, 'fromSeq', 1, Number.MAX_SAFE_INTEGER);
      return { command: 'REPLAY', topic, epoch, fromSeq };
    }
  }
}

function asciiFrame(frame: Buffer, name: string): string {
  if (frame.length > TOPIC_MAX_BYTES) throw new BadRequest(`${name} is ${frame.length} bytes, at most ${TOPIC_MAX_BYTES} allowed`);
  for (const byte of frame) {
    if (byte < 0x20 || byte > 0x7e) throw new BadRequest(`${name} is not printable ASCII`);
  }
  return frame.toString('latin1');
}

function decimalFrame(frame: Buffer, name: string, min: number, max: number): number {
  const text = frame.toString('latin1');
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new BadRequest(`${name} ${quoted(frame)} is not an ASCII decimal from ${min} to ${max}`);
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
