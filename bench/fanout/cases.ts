/** What the fan-out bench measures: each case a server, a number of clients, their interest and a ramp of offered rates. */

/**
 * What the clients connect to: tickfan's gateway on the split fabric (each role its own
 * process), tickfan's all-in-one layout (`--roles proxy,snapshot,gateway`, one process),
 * nats-server's WebSocket listener, or the minimal ws baseline on the split fabric.
 */
export type ServerKind = 'tickfan' | 'allinone' | 'nats' | 'baseline';

/** What the feed publishes: L1 ticks over the 1,000 instruments, or order book records over 100 books (books.ts). */
export type Traffic = 'ticks' | 'books';

/** The layout's name in the tables. */
export const SERVER_LABELS: Readonly<Record<ServerKind, string>> = { tickfan: 'split', allinone: 'all-in-one', nats: 'NATS', baseline: 'baseline' };

export interface Case {
  readonly name: string;
  readonly server: ServerKind;
  readonly clients: number;
  readonly traffic: Traffic;
  /** The share of its traffic's topics each client subscribes to. */
  readonly interest: number;
  /** Offered ticks/s (book records/s for books), low to high; a ramp stops at its first failed step. */
  readonly rates: readonly number[];
  /** Events/s each client reads at most; 0 reads as fast as it can. */
  readonly readPerSecond: number;
  /** A longer warm-up than --warmup, for a case that needs time to reach its steady state. */
  readonly minWarmupSeconds?: number;
  /** A longer window than --seconds, for a case whose clients read in bursts seconds apart. */
  readonly minSeconds?: number;
  /** Settings of this case's gateway (on top of --gateway-env). */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
}

export const CASE_NAMES = [
  'all-1000', 'allinone-1000', 'nats-1000', 'baseline-1000',
  'all-100', 'allinone-100', 'nats-100', 'baseline-100',
  'partial-1000', 'allinone-partial-1000', 'nats-partial-1000',
  'conflation-1000', 'metrics-on', 'metrics-off',
  'books-1000', 'books-conflation-1000',
] as const;
export type CaseName = (typeof CASE_NAMES)[number];

/** From 200: NATS's WebSocket listener sustains well under 500 ticks/s to 1,000 clients here, and its ratio needs a step it holds. */
const RATES_1000 = [200, 300, 500, 1_000, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000];
/** One ws.send per tick per client tops out far lower: its ramps start where it can still keep up. */
const RATES_BASELINE_1000 = [100, 150, 200, 300, 500];
const RATES_BASELINE_100 = [1_000, 1_500, 2_000, 3_000, 5_000];
/** --quick: few steps, from well below the limits, so that a busy machine still gives every layout a sustained step to compare. */
const RATES_1000_QUICK = [200, 500, 1_500, 3_000];
/** Steps of 2,500 up to 20,000: both tickfan and NATS reach their limit in that range here, and a coarser ramp cannot tell them apart. */
const RATES_100 = [5_000, 7_500, 10_000, 12_500, 15_000, 17_500, 20_000, 25_000, 30_000, 35_000, 40_000];
const RATES_100_QUICK = [2_000, 5_000, 10_000, 20_000, 30_000];
/** Each client gets a tenth of the ticks, so the ramp goes ten times higher for the same events/s per client. */
const RATES_PARTIAL = [5_000, 10_000, 20_000, 40_000];
const RATES_PARTIAL_QUICK = [2_000, 5_000, 20_000];
/** Far above what the slow readers take: 1,000 clients x 4,000 ticks/s = 4,000,000 events/s wanted, 500,000 read at most. */
const CONFLATION_RATE = 4_000;
const CONFLATION_READ_PER_SECOND = 500;
/**
 * The cost of metrics (the gateway's latency sampling and counters; scrapes are rare): one busy
 * step with them on, then off, compared by gateway CPU per delivered event and events/s.
 */
const METRICS_COST_RATE = 1_000;

/**
 * Book records/s over the 100 books, each to all 1,000 clients: at 1,000 records/s as many events/s
 * as 1,000 ticks/s in all-1000, whose limit is a few thousand; the top steps are there to find it.
 * From 500, as the tick ramps start low, so that a busy machine still gives a sustained step.
 */
const RATES_BOOKS = [500, 1_000, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000, 15_000, 20_000];
const RATES_BOOKS_QUICK = [500, 1_000, 2_500, 5_000, 10_000, 20_000];
/**
 * Far above what the slow readers take, as in conflation-1000: 5,000,000 events/s wanted, 500,000
 * read at most, so a frame brings each book one merged update of the tens of records it missed.
 */
const BOOKS_CONFLATION_RATE = 5_000;

export function caseOf(name: CaseName, quick: boolean): Case {
  switch (name) {
    // The peers of a case run the very same clients, interest and ramp.
    case 'all-1000':
    case 'allinone-1000':
    case 'nats-1000':
      return { name, server: serverOf(name), clients: 1_000, traffic: 'ticks', interest: 1, rates: quick ? RATES_1000_QUICK : RATES_1000, readPerSecond: 0 };
    case 'baseline-1000':
      return { name, server: 'baseline', clients: 1_000, traffic: 'ticks', interest: 1, rates: RATES_BASELINE_1000, readPerSecond: 0 };
    case 'all-100':
    case 'allinone-100':
    case 'nats-100':
      return { name, server: serverOf(name), clients: 100, traffic: 'ticks', interest: 1, rates: quick ? RATES_100_QUICK : RATES_100, readPerSecond: 0 };
    case 'baseline-100':
      return { name, server: 'baseline', clients: 100, traffic: 'ticks', interest: 1, rates: RATES_BASELINE_100, readPerSecond: 0 };
    case 'partial-1000':
    case 'allinone-partial-1000':
    case 'nats-partial-1000':
      return { name, server: serverOf(name), clients: 1_000, traffic: 'ticks', interest: 0.1, rates: quick ? RATES_PARTIAL_QUICK : RATES_PARTIAL, readPerSecond: 0 };
    case 'metrics-on':
    case 'metrics-off':
      return {
        name, server: 'tickfan', clients: 1_000, traffic: 'ticks', interest: 1, rates: [METRICS_COST_RATE], readPerSecond: 0,
        gatewayEnv: { TICKFAN_METRICS_ENABLED: String(name === 'metrics-on') },
      };
    case 'conflation-1000':
      // Its RSS is judged over the window: the warm-up lets every slow client's pending state and
      // socket buffers fill first (bounded, but filling takes a few seconds). A conflated frame
      // holds up to one event per topic, two seconds of a reader's budget, so a short window
      // would see each reader read once or not at all.
      return {
        name, server: 'tickfan', clients: 1_000, traffic: 'ticks', interest: 1, rates: [CONFLATION_RATE], readPerSecond: CONFLATION_READ_PER_SECOND,
        minWarmupSeconds: 6, minSeconds: 8,
      };
    // The split layout, as all-1000 and conflation-1000: server CPU is then the gateway's alone,
    // which holds a book per topic and makes the merges, so its CPU per event is the books' cost.
    case 'books-1000':
      return { name, server: 'tickfan', clients: 1_000, traffic: 'books', interest: 1, rates: quick ? RATES_BOOKS_QUICK : RATES_BOOKS, readPerSecond: 0 };
    case 'books-conflation-1000':
      // conflation-1000's readers and window. A longer warm-up: the gateway merges only once a
      // reader is behind, after loopback's kernel buffers have taken every record for a while,
      // and a reader at its budget gets through those first (measured: with 12 s the window
      // saw between none and one merged update in ten of the events read, with 20 s a third).
      // The readers answer pings as late as they read, ~19 s then, so the shipped 15 s ping
      // interval terminated some (8 of 1,000): a longer one, so that the case measures merges.
      return {
        name, server: 'tickfan', clients: 1_000, traffic: 'books', interest: 1, rates: [BOOKS_CONFLATION_RATE], readPerSecond: CONFLATION_READ_PER_SECOND,
        minWarmupSeconds: 20, minSeconds: 8, gatewayEnv: { TICKFAN_GATEWAY_PING_INTERVAL_MS: '60000' },
      };
  }
}


/** The peer a case name starts with; the split layout's cases have none. */
function serverOf(name: CaseName): ServerKind {
  if (name.startsWith('allinone-')) return 'allinone';
  if (name.startsWith('nats-')) return 'nats';
  return 'tickfan';
}
