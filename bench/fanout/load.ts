/**
 * Child program: a load process holding a share of the WebSocket clients, tickfan's or NATS's.
 * Receiving is kept cheap so that the load side is not the limit: every event is counted and
 * its latency taken by scanning bytes (a tickfan frame once per distinct frame, scan.ts; a
 * NATS message as the protocol parser finds it), and only a sample of the events is fully
 * parsed and checked, as a real client would (sample-check.ts); in a books case a few clients
 * parse every frame and keep every book, checking each record's checksum (book-check.ts).
 */
import type { Histogram } from 'hdr-histogram-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMicros } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { cpuOverWindow, sleepUntil } from '../common/clock.js';
import { encodeHistogram, latencyHistogram, prepareRecording, recordLatency } from '../common/latency.js';
import { BookCheck, BookTally, type BookCounts } from './book-check.js';
import { NatsClient } from './nats-client.js';
import { RawWebSocket } from './raw-client.js';
import { CheckTally, SampleCheck } from './sample-check.js';
import { ScannedFrames } from './scan.js';

/** A slow reader's budget is renewed this often. */
const READ_SLOT_MS = 100;
/** Distinct recent frames whose events are remembered: a few passes' worth of every interest group. */
const SCANNED_FRAMES_KEPT = 64;
/** Backlog growth compares the window's first and last stretch of this length. */
const EDGE_MICROS = 1_000_000;

export interface ClientSpec {
  /** tickfan topic patterns, or NATS subjects with wildcards. */
  readonly patterns: readonly string[];
  /** Parses every frame and keeps the books it receives, checking every record (book-check.ts). */
  readonly checksBooks: boolean;
}

/** What the clients speak: tickfan's WebSocket protocol, or raw NATS over WebSocket. */
export type LoadProtocol = 'tickfan' | 'nats';

export interface ConnectParams {
  readonly url: string;
  readonly protocol: LoadProtocol;
  readonly clients: readonly ClientSpec[];
  /** Events per second each client reads at most (pausing its socket in between); 0 reads everything. */
  readonly readPerSecond: number;
  readonly timeoutMs: number;
}

export interface LoadReport {
  /** Events of the window (see MeasureParams). */
  readonly events: number;
  /** Events that arrived inside the window, however old. */
  readonly received: number;
  /** Whole window, its first and its last second: encoded latency histograms (µs). */
  readonly latency: string;
  readonly firstSecond: string;
  readonly lastSecond: string;
  /** % of one core this process used over the window (grace not included). */
  readonly cpuPercent: number;
  /** Clients whose socket closed since connecting. */
  readonly closed: number;
  /** Events of the sample parsed and checked, and those that failed (with the first one's problem). */
  readonly checked: number;
  readonly invalid: number;
  readonly problem: string | undefined;
  /** What this process's checking clients found in the books. */
  readonly books: BookCounts;
}

export interface MeasureParams {
  readonly startMicros: number;
  readonly endMicros: number;
  /**
   * 'published': the events stamped (ts) inside the window that arrive by its end + graceMicros,
   * so every offered tick is counted once, delivered or not. 'received': the events that
   * arrive inside the window, whenever they were stamped (slow readers get stale events).
   */
  readonly count: 'published' | 'received';
  readonly graceMicros: number;
}

class Recorder {
  events = 0;
  /** Events that arrived inside the window, however old: the throughput a server managed even when it lags. */
  received = 0;
  latency = latencyHistogram(true);
  firstSecond = latencyHistogram(true);
  lastSecond = latencyHistogram(true);
  window: MeasureParams | undefined;

  /** One event that arrived at `arrived` and was stamped `ts` at its source. */
  event(arrived: number, ts: number): void {
    const window = this.window;
    if (window === undefined) return;
    if (this.inWindow(arrived)) this.received++;
    const at = window.count === 'published' ? ts : arrived;
    if (at < window.startMicros || at >= window.endMicros || arrived >= window.endMicros + window.graceMicros) return;
    this.events++;
    const micros = arrived - ts;
    recordLatency(this.latency, micros);
    if (at < window.startMicros + EDGE_MICROS) recordLatency(this.firstSecond, micros);
    if (at >= window.endMicros - EDGE_MICROS) recordLatency(this.lastSecond, micros);
  }

  /** Whether `arrived` lies inside the window being measured. */
  inWindow(arrived: number): boolean {
    return this.window !== undefined && arrived >= this.window.startMicros && arrived < this.window.endMicros;
  }

  reset(window: MeasureParams): void {
    this.window = window;
    this.events = 0;
    this.received = 0;
    for (const histogram of [this.latency, this.firstSecond, this.lastSecond] as Histogram[]) histogram.reset();
  }
}

await prepareRecording();
const recorder = new Recorder();
const scannedFrames = new ScannedFrames(SCANNED_FRAMES_KEPT);
const tally = new CheckTally();
const bookTally = new BookTally();
const clients: (Client | NatsClient)[] = [];
let slotTimer: NodeJS.Timeout | undefined;

class Client {
  private verified = false;
  /**
   * Events this client may still read before it pauses: a token bucket refilled every slot.
   * One frame can hold many events (and a paused socket still hands over what it had already
   * received), so the credit goes negative and the debt is paid off in later slots.
   */
  private credit: number;
  private readonly sample = new SampleCheck(tally);
  closed = false;

  constructor(
    readonly ws: RawWebSocket,
    /** Events per slot; 0 reads without limit. */
    private readonly readBudget: number,
    /** A checking client's books: it checks every frame, not a sample. */
    private readonly books: BookCheck | undefined,
  ) {
    this.credit = readBudget;
  }

  /** Before 'subscribed', every frame is parsed and checked to be an array of events, so the scanner is not fooled. */
  verify(data: Buffer, start: number, end: number): 'subscribed' | 'waiting' {
    const text = data.toString('utf8', start, end);
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      throw new Error(`a server frame is not JSON: ${text.slice(0, 200)}`);
    }
    if (!Array.isArray(frame) || !frame.every((event) => typeof event === 'object' && event !== null && typeof event.type === 'string')) {
      throw new Error(`a server frame is not a JSON array of events: ${text.slice(0, 200)}`);
    }
    const error = frame.find((event) => event.type === 'error');
    if (error !== undefined) throw new Error(`the server answered the subscribe with ${JSON.stringify(error)}`);
    if (!frame.some((event) => event.type === 'subscribed')) return 'waiting';
    // The subscribed frame holds the books' snapshots, where the checking client's books start.
    this.books?.events(frame, false);
    this.verified = true;
    return 'subscribed';
  }

  scan(data: Buffer, start: number, end: number): void {
    const arrived = nowMicros();
    const tss = scannedFrames.tssOf(data, start, end);
    for (let i = 0; i < tss.length; i++) recorder.event(arrived, tss[i]!);
    if (this.books !== undefined) {
      const events = this.sample.frame(data.toString('utf8', start, end));
      if (events !== undefined) this.books.events(events, recorder.inWindow(arrived));
    } else if (this.sample.due()) {
      this.sample.frame(data.toString('utf8', start, end));
    }
    if (this.readBudget === 0) return;
    this.credit -= tss.length;
    if (this.credit <= 0) this.ws.pause();
  }

  terminate(): void {
    this.ws.terminate();
  }

  get isVerified(): boolean {
    return this.verified;
  }

  newSlot(): void {
    this.credit = Math.min(this.readBudget, this.credit + this.readBudget);
    if (this.credit > 0 && this.ws.isPaused) this.ws.resume();
  }
}

function openNats(index: number, params: ConnectParams): Promise<NatsClient> {
  return new Promise((resolve, reject) => {
    const client: NatsClient = new NatsClient(params.url, params.clients[index]!.patterns, tally, {
      event: (arrived, ts) => recorder.event(arrived, ts),
      subscribed: () => resolve(client),
      failed: reject,
    });
  });
}

/** Opens one client, subscribes it and resolves once the server confirmed the subscription. */
function open(index: number, params: ConnectParams): Promise<Client> {
  return new Promise((resolve, reject) => {
    const subscribe = JSON.stringify({ op: 'subscribe', id: index, topics: params.clients[index]!.patterns, snapshot: true, conflate: true });
    // The load side measures the server and must not be the limit: its client does not check
    // that every text frame is valid UTF-8 (the conformance tests check what the gateway sends).
    // The callbacks use `client`, made just below: they run only once the socket has connected.
    const ws = new RawWebSocket(params.url, {
      message(data, start, end) {
        if (client.isVerified) return client.scan(data, start, end);
        try {
          if (client.verify(data, start, end) === 'subscribed') resolve(client);
        } catch (err) {
          reject(err as Error);
          ws.terminate();
        }
      },
      // After the subscription a rejection is a no-op; the close that follows marks the client.
      error: reject,
      close(code) {
        client.closed = true;
        reject(new Error(`client ${index} closed${code === undefined ? '' : ` with ${code}`} before it was subscribed`));
      },
    }, () => ws.send(subscribe));
    const client = new Client(ws, Math.ceil((params.readPerSecond * READ_SLOT_MS) / 1000), params.clients[index]!.checksBooks ? new BookCheck(bookTally) : undefined);
  });
}

const methods = {
  async connect(params: ConnectParams): Promise<{ clients: number }> {
    const deadline = sleep(params.timeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`not every one of ${params.clients.length} clients subscribed within ${params.timeoutMs} ms`);
    });
    if (params.protocol === 'nats' && params.readPerSecond > 0) throw new Error('the NATS clients read everything: no readPerSecond');
    const opened = params.clients.map((_, index) => (params.protocol === 'nats' ? openNats(index, params) : open(index, params)));
    clients.push(...(await Promise.race([Promise.all(opened), deadline])));
    if (params.readPerSecond > 0) slotTimer = setInterval(() => clients.forEach((c) => c instanceof Client && c.newSlot()), READ_SLOT_MS);
    return { clients: clients.length };
  },

  /** Records the window's events (see MeasureParams) and reports once the window and its grace have passed. */
  async measure(window: MeasureParams): Promise<LoadReport> {
    recorder.reset(window);
    tally.reset();
    bookTally.reset();
    const { cpuPercent } = await cpuOverWindow(window);
    await sleepUntil(window.endMicros + window.graceMicros);
    recorder.window = undefined;
    return {
      events: recorder.events,
      received: recorder.received,
      latency: encodeHistogram(recorder.latency),
      firstSecond: encodeHistogram(recorder.firstSecond),
      lastSecond: encodeHistogram(recorder.lastSecond),
      cpuPercent,
      closed: clients.filter((c) => c.closed).length,
      checked: tally.checked,
      invalid: tally.invalid,
      problem: tally.problem,
      books: { ...bookTally },
    };
  },
};

export type LoadMethods = typeof methods;

serve(methods, () => {
  clearInterval(slotTimer);
  for (const client of clients) client.terminate();
});
