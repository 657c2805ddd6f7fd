/**
 * A topic's most recent messages, oldest first: each one's bytes and header ts, packed in one
 * Buffer. The gateway's cache and the snapshot store keep their per-topic history in one.
 *
 * Not an array of objects (texts, frames): each of those lived as long as the history reached
 * back, so every tick's was promoted to V8's old generation and freed only by a major
 * collection. With 1,000 busy topics those collections took a core for a few hundred ms at a
 * time, the gateway's worst stalls (docs/performance.md), and kept V8's helper threads marking
 * in the snapshot service. As bytes, a topic's history is four objects whatever its depth, and
 * a tick costs one copy of its bytes. Only the rare readers (resumes, snapshots, REPLAY) turn
 * bytes back into objects. Everything starts small and doubles, so a quiet topic costs about
 * what its one message does; the Buffer never shrinks, so it stays at most about four times
 * the largest history it held.
 */
export class RecordRing {
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

  /** Bytes of the records held. */
  get bytesHeld(): number {
    return this.count === 0 ? 0 : this.end - this.starts[this.head]!;
  }

  /**
   * Adds the newest record: `head`'s bytes then `record`'s, as one. At capacity the oldest
   * goes; returns its length (0 when nothing went).
   */
  append(record: Buffer, ts: number, head: Buffer = EMPTY): number {
    let dropped = 0;
    if (this.count === this.capacity) {
      dropped = this.dropOldest();
    } else if (this.count === this.starts.length) {
      this.growSlots();
    }
    const length = head.length + record.length;
    if (this.end + length > this.bytes.length) this.makeRoom(length);
    const slot = (this.head + this.count) % this.starts.length;
    this.starts[slot] = this.end;
    this.lengths[slot] = length;
    this.tss[slot] = ts;
    // TypedArray set, not Buffer copy: the same memcpy without Buffer.copy's argument checks, twice per tick per role.
    this.bytes.set(head, this.end);
    this.bytes.set(record, this.end + head.length);
    this.end += length;
    this.count++;
    return dropped;
  }

  /** Drops the oldest record; returns its length (0 when empty). */
  dropOldest(): number {
    if (this.count === 0) return 0;
    const length = this.lengths[this.head]!;
    this.head = (this.head + 1) % this.starts.length;
    this.count--;
    return length;
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

  /** The ts of the newest record; undefined when empty. */
  newestTs(): number | undefined {
    return this.count === 0 ? undefined : this.tss[(this.head + this.count - 1) % this.starts.length];
  }

  /** The `index`-th oldest record, a copy of its own. */
  at(index: number): HeldRecord {
    const slot = (this.head + index) % this.starts.length;
    const start = this.starts[slot]!;
    return { record: Buffer.from(this.bytes.subarray(start, start + this.lengths[slot]!)), ts: this.tss[slot]! };
  }

  /** Twice the slots, at most `capacity`, the oldest record moving to slot 0. */
  private growSlots(): void {
    const slots = Math.min(this.capacity, this.starts.length * 2);
    const starts = new Int32Array(slots);
    const lengths = new Int32Array(slots);
    const tss = new Float64Array(slots);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % this.starts.length;
      starts[i] = this.starts[from]!;
      lengths[i] = this.lengths[from]!;
      tss[i] = this.tss[from]!;
    }
    this.starts = starts;
    this.lengths = lengths;
    this.tss = tss;
    this.head = 0;
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


const EMPTY = Buffer.alloc(0);
const FIRST_SLOTS = 2;
const FIRST_BYTES = 256;
