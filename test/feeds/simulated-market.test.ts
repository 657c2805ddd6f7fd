import test from 'ava';
import { DEFAULT_INSTRUMENTS, MarketSimulator, type Instrument } from '../../src/feeds/simulated/index.js';
import { parseTopic, tickTopic, validateTickRecord, type TickRecord } from '../../src/wire/index.js';

const PROTOCOL_ORDER = ['venue', 'symbol', 'bid', 'bidSize', 'ask', 'askSize', 'last', 'lastSize', 'volume', 'exchTs', 'open', 'high', 'low'];
const PRICE_FIELDS = ['bid', 'ask', 'last', 'open', 'high', 'low'] as const;
const SIZE_FIELDS = ['bidSize', 'askSize', 'lastSize', 'volume'] as const;
const EXCH_TS = 1764070000123456;

/** Decimals in the JSON text of a number, e.g. 2 for 0.25 and 8 for 1.5e-7, read from the text rather than computed in floats. */
function decimalsIn(value: number): number {
  const [mantissa = '', exponent = '0'] = JSON.stringify(value).split('e');
  return Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - Number(exponent));
}

/** Returns why `value` is not an exact, noise-free multiple of `step`, or undefined. */
function multipleProblem(value: number, step: number): string | undefined {
  const decimals = decimalsIn(step);
  if (decimalsIn(value) > decimals) return `${JSON.stringify(value)} has more decimals than ${step}`;
  const scaled = Math.round(value * 10 ** decimals);
  const stepUnits = Math.round(step * 10 ** decimals);
  if (scaled % stepUnits !== 0) return `${JSON.stringify(value)} is not a multiple of ${step}`;
  return undefined;
}

function key(record: TickRecord): string {
  return tickTopic(record.venue, record.symbol);
}

function checkRun(t: import('ava').ExecutionContext, instruments: readonly Instrument[], steps: number): void {
  const byTopic = new Map(instruments.map((i) => [tickTopic(i.venue, i.symbol), i]));
  const lastVolume = new Map<string, number>();
  const simulator = new MarketSimulator(instruments, 7);
  let failures = 0;
  const fail = (message: string): void => {
    if (failures++ < 10) t.fail(message);
  };
  for (let n = 0; n < steps; n++) {
    const record = simulator.step(EXCH_TS + n).tick;
    const topic = key(record);
    const instrument = byTopic.get(topic);
    if (instrument === undefined) {
      fail(`unknown topic ${topic}`);
      continue;
    }
    try {
      validateTickRecord(parseTopic(topic), JSON.parse(JSON.stringify(record)));
    } catch (error) {
      fail(`${topic}: ${String(error)}`);
    }
    const keys = Object.keys(record);
    if (keys.join() !== PROTOCOL_ORDER.filter((f) => keys.includes(f)).join()) fail(`${topic}: fields out of order: ${keys.join()}`);
    if (record.exchTs !== EXCH_TS + n) fail(`${topic}: exchTs ${record.exchTs} is not the one passed in`);
    if (!((record.bid as number) < (record.ask as number))) fail(`${topic}: bid ${record.bid} is not below ask ${record.ask}`);
    if (!((record.bid as number) > 0)) fail(`${topic}: bid ${record.bid} is not positive`);
    for (const field of PRICE_FIELDS) {
      const value = record[field];
      const problem = value === undefined ? undefined : multipleProblem(value, instrument.tickSize);
      if (problem !== undefined) fail(`${topic} ${field}: ${problem}`);
    }
    for (const field of SIZE_FIELDS) {
      const value = record[field];
      if (value === undefined) continue;
      const problem = value < 0 ? `${value} is negative` : multipleProblem(value, instrument.lotSize);
      if (problem !== undefined) fail(`${topic} ${field}: ${problem}`);
    }
    if (record.last !== undefined) {
      const { last, low, high, open } = record as Required<TickRecord>;
      if (!(low <= last && last <= high && low <= open && open <= high)) fail(`${topic}: last ${last} / open ${open} outside [${low}, ${high}]`);
    }
    const volume = record.volume as number;
    if (volume < (lastVolume.get(topic) ?? 0)) fail(`${topic}: volume fell from ${lastVolume.get(topic)} to ${volume}`);
    lastVolume.set(topic, volume);
  }
  t.is(failures, 0);
  t.deepEqual([...lastVolume.keys()].sort(), [...byTopic.keys()].sort(), 'every instrument appears');
  t.true([...lastVolume.values()].every((v) => v > 0), 'every instrument trades');
}

test('100,000 steps of the default market are valid, exact and consistent', (t) => {
  checkRun(t, DEFAULT_INSTRUMENTS, 100_000);
});

test('steps whose naive float products are noisy still print exact decimals', (t) => {
  // 3 * 0.1 and 3 * 0.07 are 0.30000000000000004 and 0.21000000000000002 in plain float math.
  checkRun(t, [
    { venue: 'T', symbol: 'TENTHS', tickSize: 0.1, startPrice: 0.3, lotSize: 0.1 },
    { venue: 'T', symbol: 'SEVENTHS', tickSize: 0.07, startPrice: 0.21, lotSize: 0.07 },
    { venue: 'T', symbol: 'HALVES', tickSize: 0.5, startPrice: 100.5, lotSize: 0.001 },
    { venue: 'T', symbol: 'TINY', tickSize: 0.00000001, startPrice: 0.00001234, lotSize: 1000 },
  ], 50_000);
});

test('the same seed gives the same sequence; other seeds give different ones', (t) => {
  const run = (seed: number): TickRecord[] => {
    const simulator = new MarketSimulator(DEFAULT_INSTRUMENTS, seed);
    return Array.from({ length: 10_000 }, () => simulator.step(EXCH_TS).tick);
  };
  const first = run(1);
  t.deepEqual(run(1), first);
  const other = run(2);
  t.notDeepEqual(other, first);
  // Neighbouring seeds must not start out nearly in step: matching picks should be near chance (1 in 50).
  const samePicks = first.slice(0, 1000).filter((record, n) => key(record) === key(other[n]!)).length;
  t.true(samePicks < 60, `${samePicks} of 1000 picks match`);
});

test('the simulator rejects instrument lists it cannot publish', (t) => {
  const good: Instrument = { venue: 'SIM', symbol: 'BTC-USD', tickSize: 0.5, startPrice: 64000, lotSize: 0.0001 };
  t.throws(() => new MarketSimulator([], 1), { instanceOf: RangeError });
  t.throws(() => new MarketSimulator([good, { ...good }], 1), { instanceOf: RangeError, message: /unique/ });
  t.throws(() => new MarketSimulator([{ ...good, symbol: 'BTC USD' }], 1), { instanceOf: RangeError, message: /BTC USD/ });
  t.throws(() => new MarketSimulator([{ ...good, venue: 'SIM.X' }], 1), { instanceOf: RangeError, message: /segment/ });
  t.throws(() => new MarketSimulator([{ ...good, tickSize: 0 }], 1), { instanceOf: RangeError });
  t.throws(() => new MarketSimulator([{ ...good, lotSize: Math.PI }], 1), { instanceOf: RangeError, message: /decimals/ });
  t.throws(() => new MarketSimulator([{ ...good, startPrice: 0.1 }], 1), { instanceOf: RangeError, message: /below one tick/ });
});
