/**
 * A topic's most recent ticks, oldest first: each one's record bytes (the payload frame as
 * published) and header ts, packed in one Buffer.
 *
 * Not an array of event texts: each of those lived as long as the history reached back, so
 * every tick's text was promoted to V8's old generation and freed only by a major collection.
 * With 1,000 busy topics those collections took a core for a few hundred ms at a time, the
 * gateway's worst stalls (docs/performance.md). As bytes, a topic's history is four objects
 * whatever its depth, and a tick costs one copy of its record, with no text built for it
 * unless a client gets it. Only resumes and snapshots, which are rare, turn records back into
 * events. Everything starts small and doubles, so a quiet topic costs about what its one
 * record does.
 */
export class TickHistory {
  private bytes = EMPTY;
  /** Per slot of the ring: where its event's bytes start in `bytes`, how many, and its ts. */
  private starts: Int32Array;
  private lengths: Int32Array;
  private tss: Float64Array;
  /** The slot of the oldest event. */
  private head = 0;
  private count = 0;
  /** The first free byte of `bytes`: the events' bytes lie in slot order before it. */
  private end = 0;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`a history holds at least 1 event, got ${capacity}`);
    const slots = Math.min(capacity, FIRST_SLOTS);
    this.starts = new Int32Array(slots);
    this.lengths = new Int32Array(slots);
    this.tss = new Float64Array(slots);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.end = 0;
  }

  /** Adds the newest record; at capacity the oldest goes. */
  append(record: Buffer, ts: number): void {
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.starts.length;
      this.count--;
    } else if (this.count === this.starts.length) {
      this.growSlots();
    }
    const length = record.length;
    if (this.end + length > this.bytes.length) this.makeRoom(length);
    const slot = (this.head + this.count) % this.starts.length;
    this.starts[slot] = this.end;
    this.lengths[slot] = length;
    this.tss[slot] = ts;
    this.end += record.copy(this.bytes, this.end);
    this.count++;
  }

  /** The records from the `skip`-th oldest on, oldest first, each a copy of its own. */
  from(skip: number): HeldRecord[] {
    const records = [];
    for (let i = Math.max(0, skip); i < this.count; i++) records.push(this.at(i));
    return records;
  }

  /** The newest record, a copy of its own; undefined when empty. */
  newest(): HeldRecord | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1);
  }

  private at(index: number): HeldRecord {
    const slot = (this.head + index) % this.starts.length;
    const start = this.starts[slot]!;
    return { record: Buffer.from(this.bytes.subarray(start, start + this.lengths[slot]!)), ts: this.tss[slot]! };
  }

  /**
   * Twice the slots, at most `capacity`. Slots grow only while the ring has never been full (a
   * full ring has `capacity` slots and drops its oldest instead), so the oldest is in slot 0.
   */
  private growSlots(): void {
    const slots = Math.min(this.capacity, this.starts.length * 2);
    this.starts = copied(this.starts, new Int32Array(slots));
    this.lengths = copied(this.lengths, new Int32Array(slots));
    this.tss = copied(this.tss, new Float64Array(slots));
  }

  /**
   * Moves the held events' bytes to the start (they are contiguous: events leave from the
   * front and arrive at the back), growing the Buffer until they and the incoming event take at
   * most half of it, so each byte moves a bounded number of times. It never shrinks: a topic's
   * Buffer stays at most about four times its largest history.
   */
  private makeRoom(length: number): void {
    const first = this.count === 0 ? this.end : this.starts[this.head]!;
    const held = this.end - first;
    let size = Math.max(this.bytes.length, FIRST_BYTES);
    while (held + length > size / 2) size *= 2;
    if (size === this.bytes.length) {
      this.bytes.copyWithin(0, first, this.end);
    } else {
      // Its own memory, not a slice of Buffer's shared 8 KiB pool: a long-lived slice would keep the whole pool block alive.
      const larger = Buffer.allocUnsafeSlow(size);
      this.bytes.copy(larger, 0, first, this.end);
      this.bytes = larger;
    }
    for (let i = 0; i < this.count; i++) this.starts[(this.head + i) % this.starts.length]! -= first;
    this.end = held;
  }
}

export interface HeldRecord {
  readonly record: Buffer;
  readonly ts: number;
}

function copied<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

const EMPTY = Buffer.alloc(0);
const FIRST_SLOTS = 2;
const FIRST_BYTES = 256;
