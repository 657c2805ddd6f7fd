/**
 * Finds the events of a gateway frame and reads each one's ts without parsing the frame: the
 * load processes do this for every frame, so it must cost far less than the gateway spends
 * sending it. Each tick or snapshot event carries exactly one `"ts":<digits>` key (the record's
 * own `"exchTs":` never matches), so the events of a frame are the matches of that key.
 *
 * A one-byte string and String.indexOf: V8 searches it without leaving JavaScript, where
 * Buffer.indexOf pays a native call per event. The search is for `ts":`, not `"ts":`: V8 looks
 * for a pattern's first character and then compares, and a frame holds a quote every few bytes
 * but a `t` only every few dozen (three times faster as measured). Slices, not the whole frame:
 * a string above V8's 128 KiB regular object size costs about 9x more per byte to make
 * (measured), and a lagging client gets exactly such frames, which would make it lag more.
 */

/** The `"ts":` key without its opening quote. */
const TS_KEY_TAIL = 'ts":';
const QUOTE = 0x22;
/** Well under V8's 128 KiB limit for a regular (young) string. */
export const SCAN_SLICE_BYTES = 64 * 1024;
/** `ts":` and its digits: a key starting in one slice is read whole from the text that slice takes. */
const KEY_REACH = 32;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Calls `visit` with the ts of each event in data[start, end), in order; returns how many there were. */
export function scanEvents(data: Buffer, start: number, end: number, visit: (ts: number) => void): number {
  let events = 0;
  for (let from = start; from < end; from += SCAN_SLICE_BYTES) events += scanSlice(data, start, from, end, visit);
  return events;
}

/** The events whose key (`ts":`) starts in data[from, from + SCAN_SLICE_BYTES) of the frame data[start, end). */
function scanSlice(data: Buffer, start: number, from: number, end: number, visit: (ts: number) => void): number {
  // One byte before (the quote of a key starting at `from`), some after (a key and its digits crossing the slice's end).
  const begin = from > start ? from - 1 : from;
  const text = data.toString('latin1', begin, Math.min(end, from + SCAN_SLICE_BYTES + KEY_REACH));
  const sliceEnd = from + SCAN_SLICE_BYTES - begin;
  let events = 0;
  let at = text.indexOf(TS_KEY_TAIL, from - begin);
  while (at >= 0 && at < sliceEnd) {
    let i = at + TS_KEY_TAIL.length;
    if (at > 0 && text.charCodeAt(at - 1) === QUOTE) {
      let ts = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < DIGIT_0 || c > DIGIT_9) break;
        ts = ts * 10 + (c - DIGIT_0);
      }
      visit(ts);
      events++;
    }
    at = text.indexOf(TS_KEY_TAIL, i);
  }
  return events;
}

/**
 * The ts values of recent frames, one per frame length. The gateway sends the clients with the same
 * interest the very same frame bytes, so a load process receives most frames once per such
 * client: one scan finds the events, and the other copies are recognised by comparing their
 * bytes with the copy kept here (one memcmp, a small share of a scan's cost) and take its ts
 * values. Every client still records every event it received, at its own arrival time.
 */
export class ScannedFrames {
  /** By frame length, oldest first. */
  private readonly recent = new Map<number, { readonly bytes: Buffer; readonly tss: readonly number[] }>();
  /** Frames that had to be scanned: not among the recent ones. */
  scans = 0;

  constructor(private readonly capacity: number) {}

  /** The ts of each event of the frame data[start, end), in order. */
  tssOf(data: Buffer, start: number, end: number): readonly number[] {
    const length = end - start;
    const known = this.recent.get(length);
    if (known !== undefined && data.compare(known.bytes, 0, length, start, end) === 0) return known.tss;
    const tss: number[] = [];
    scanEvents(data, start, end, (ts) => tss.push(ts));
    this.scans++;
    if (known !== undefined) this.recent.delete(length);
    else if (this.recent.size >= this.capacity) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(length, { bytes: Buffer.from(data.subarray(start, end)), tss });
    return tss;
  }
}

const TS_KEY = '"ts":';

/**
 * The ts of the one event in data[start, end) (a NATS message's payload), or -1 when it has
 * none. A byte loop: an event is short, and a native call per event (Buffer.indexOf or a string
 * made of it) would cost more than the search.
 */
export function eventTs(data: Buffer, start: number, end: number): number {
  const last = end - TS_KEY.length;
  for (let at = start; at <= last; at++) {
    if (data[at] !== QUOTE || data[at + 1] !== 0x74 || data[at + 2] !== 0x73 || data[at + 3] !== QUOTE || data[at + 4] !== 0x3a) continue;
    let ts = 0;
    let i = at + TS_KEY.length;
    for (; i < end; i++) {
      const c = data[i]!;
      if (c < DIGIT_0 || c > DIGIT_9) break;
      ts = ts * 10 + (c - DIGIT_0);
    }
    return i > at + TS_KEY.length ? ts : -1;
  }
  return -1;
}
