import type { Position } from '../wire/index.js';

/** An event ready to send: its JSON text, built once and shared by every client that gets it. */
export interface OutboundEvent {
  /** Unique per event, so equal pending queues of different clients can be recognised cheaply. */
  readonly serial: number;
  readonly text: string;
  /** The topic of a snapshot or tick event; undefined for control events. */
  readonly topic?: string;
  /** The header ts (microseconds since the epoch) of a snapshot or tick event. */
  readonly ts?: number;
  /**
   * On a book topic's snapshot or tick event: the position the client's book is at once it has
   * applied it. A book is never conflated to its newest event (an update is not the book); a
   * conflating client's merge starts after the last position it was sent (Session).
   */
  readonly book?: Position;
}

/** A ready-made snapshot or tick event with the position it carries. */
export interface PositionedEvent {
  readonly epoch: number;
  readonly seq: number;
  readonly event: OutboundEvent;
}

let serials = 0;

export function outbound(text: string, topic?: string, ts?: number, book?: Position): OutboundEvent {
  return { serial: ++serials, text, topic, ts, book };
}

/**
 * An event whose text is built when first asked for, so a tick no client gets costs no text at
 * all. The builder is dropped once used: it may hold received frames, which keep much more
 * native memory alive than the text.
 */
export function deferredOutbound(build: () => string, topic: string, ts: number, book?: Position): OutboundEvent {
  let text: string | undefined;
  let builder: (() => string) | undefined = build;
  return {
    serial: ++serials,
    get text() {
      if (text === undefined) {
        text = builder!();
        builder = undefined;
      }
      return text;
    },
    topic,
    ts,
    book,
  };
}

/** One array frame of PROTOCOL.md section 5, as the bytes to send. */
export function encodeFrame(events: readonly OutboundEvent[]): Buffer {
  let json = '[';
  for (let i = 0; i < events.length; i++) json += i === 0 ? events[i]!.text : `,${events[i]!.text}`;
  return Buffer.from(`${json}]`);
}

/**
 * The frames of one flush pass. Clients with the same interest get the same events in the same
 * turn, so the frame is encoded once and its bytes are sent to each of them: the batch-level
 * form of "encode a tick once and reuse the bytes for every client".
 */
export class FrameBuilder {
  private readonly built = new Map<number, { readonly events: readonly OutboundEvent[]; readonly frame: Buffer }>();

  /** The frame of `events`; `fingerprint` (a hash of their serials) finds an equal earlier one. */
  frameOf(events: readonly OutboundEvent[], fingerprint: number): Buffer {
    // A number, not a string: this runs once per client per pass. Collisions are told apart below.
    const key = (Math.imul(fingerprint, 31) + events.length) | 0;
    const earlier = this.built.get(key);
    if (earlier !== undefined && sameEvents(earlier.events, events)) return earlier.frame;
    const frame = encodeFrame(events);
    if (earlier === undefined) this.built.set(key, { events, frame });
    return frame;
  }
}

function sameEvents(a: readonly OutboundEvent[], b: readonly OutboundEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
