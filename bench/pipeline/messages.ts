/**
 * The IPC contract between bench/pipeline.ts and its child processes. Each child gets its
 * options as one JSON argument and then talks over the IPC channel only, so its stdout and
 * stderr stay free for diagnostics.
 */

/**
 * The measurement window, in nowMicros() time. Every process reads the same system clock,
 * so the subscriber can tell a measured message from a warm-up one by its header ts alone.
 */
export interface Window {
  readonly startMicros: number;
  readonly endMicros: number;
}

export interface CpuReport {
  /** User + system CPU time over the window, as % of one core (above 100 with busy threads). */
  readonly cpuPercent: number;
}

export interface PublisherOptions {
  /** Exactly one of bind (direct: the subscriber connects here) and connect (to a proxy frontend). */
  readonly bind?: string;
  readonly connect?: string;
  readonly sendHwm: number;
  readonly topics: number;
}

export interface ProxyChildOptions {
  readonly mode: 'native' | 'js';
  readonly hwm: number;
}

export interface SubscriberOptions {
  readonly connect: string;
  readonly receiveHwm: number;
}

export interface PublisherReport extends CpuReport {
  /** Messages stamped with a ts inside the window. */
  readonly offered: number;
}

export interface SubscriberReport extends CpuReport {
  /** Messages with a ts inside the window that arrived before the window end + grace. */
  readonly delivered: number;
  /** Seqs skipped within a topic (summed), as revealed by messages of the window. */
  readonly missing: number;
  /** A seq at or below the previous one of its topic: PUB/SUB must never do this. */
  readonly outOfOrder: number;
  /** Messages that were not 3 frames with a valid header. */
  readonly invalid: number;
  readonly p50Micros: number | undefined;
  readonly p99Micros: number | undefined;
}

/** Parent -> child. */
export type Command =
  | { readonly type: 'window'; readonly window: Window; readonly graceMicros: number }
  | { readonly type: 'run'; readonly window: Window; readonly rate: number }
  | { readonly type: 'stop' };

/** Child -> parent; R is the child's report. */
export type Event<R> =
  | { readonly type: 'ready'; readonly endpoints: readonly string[] }
  | { readonly type: 'subscribed' }
  | { readonly type: 'result'; readonly report: R }
  | { readonly type: 'failed'; readonly error: string };
