// `npm run fuzz -- --minutes N [--surface NAME] [--seed S]`: the surfaces of test/fuzz/surfaces.ts,
// each opened once and checked in batches with a new seed per batch until the time is up. Prints
// each surface's outcome counts, any counterexample (with the seed that reproduces it) and the
// process's memory (RSS, JS heap after a full GC, memory outside the heap) after the warm-up,
// every 30 s and at the end; exits 1 when a surface failed.
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { SURFACES, checkSurface, describeTally, inputsRun, type OpenSurface, type Surface, type Tally } from '../test/fuzz/surfaces.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '1' }, surface: { type: 'string' }, seed: { type: 'string' } } });
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, not ${values.minutes}`);
const surfaces = SURFACES.filter((s) => values.surface === undefined || s.name === values.surface);
if (surfaces.length === 0) throw new Error(`no surface ${values.surface}: ${SURFACES.map((s) => s.name).join(', ')}`);
let seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);

interface Running {
  readonly surface: Surface;
  readonly tally: Tally;
  readonly open: OpenSurface;
  failure?: string;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
interface Memory {
  readonly rss: number;
  readonly heap: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** What V8 itself holds from malloc beside its heap (parser and compiler zones). */
  readonly v8Malloced: number;
}
/**
 * RSS, and JS heap after a full collection (npm run fuzz runs node with --expose-gc) of the heap
 * V8 holds from the system (heapTotal); external is what V8 knows of outside its heap (Buffers
 * among it, as arrayBuffers). RSS growing while heap and external stay flat is memory the heap or
 * the C allocator keeps for reuse, not objects the code under test keeps alive.
 */
const memory = (): Memory => {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heap: heapUsed, heapTotal, external, arrayBuffers, v8Malloced: getHeapStatistics().malloced_memory };
};
const describeMemory = (m: Memory): string =>
  `RSS ${mib(m.rss)}, heap ${mib(m.heap)} of ${mib(m.heapTotal)}, external ${mib(m.external)} (arrayBuffers ${mib(m.arrayBuffers)}), V8 malloc ${mib(m.v8Malloced)}`;

// An exception outside a property (a surface that cannot open) ends the run at once: the sockets
// and servers still open would otherwise keep the process alive after the error.
process.on('uncaughtException', (err) => {
  console.error(err);
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  process.exit(1);
});

const running: Running[] = [];
for (const surface of surfaces) {
  const tally: Tally = new Map();
  running.push({ surface, tally, open: await surface.open(tally) });
}
// A first batch of each before measuring, so the baseline holds what every surface allocates once.
for (const r of running) r.failure = await checkSurface(r.open, r.surface.ciRuns, seed++);
const before = memory();
let rssPeak = before.rss;
const started = performance.now();
const deadline = started + minutes * 60_000;
console.log(`fuzzing ${running.map((r) => r.surface.name).join(', ')} for ${minutes} min; V8 heap limit ${mib(getHeapStatistics().heap_size_limit)}; after warm-up: ${describeMemory(before)}`);

let lastReport = started;
while (performance.now() < deadline && running.some((r) => r.failure === undefined)) {
  for (const r of running) {
    if (r.failure !== undefined || performance.now() >= deadline) continue;
    const batchSeed = seed++;
    const failure = await checkSurface(r.open, r.surface.ciRuns, batchSeed);
    if (failure !== undefined) {
      r.failure = `seed ${batchSeed}: ${failure}`;
      console.log(`${r.surface.name} FAILED (reproduce: FUZZ_SEED=${batchSeed})\n${failure}`);
    }
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }
  if (performance.now() - lastReport > 30_000) {
    lastReport = performance.now();
    console.log(`${((lastReport - started) / 60_000).toFixed(1)} min: ${running.map((r) => `${r.surface.name} ${inputsRun(r.tally)}`).join(', ')}; ${describeMemory(memory())}`);
  }
}

for (const r of running) await r.open.close().catch((err: Error) => { r.failure ??= `closing: ${err.message}`; });
const after = memory();
console.log(`\n${((performance.now() - started) / 60_000).toFixed(1)} min, seeds up to ${seed - 1}`);
for (const r of running) {
  console.log(`${r.surface.name}: ${inputsRun(r.tally)} inputs, ${r.failure === undefined ? 'no failure' : 'FAILED'} (${describeTally(r.tally)})`);
}
console.log(`RSS: ${mib(before.rss)} after warm-up, ${mib(after.rss)} at the end, ${mib(rssPeak)} at most; JS heap after a full GC: ${mib(before.heap)} -> ${mib(after.heap)} (of ${mib(before.heapTotal)} -> ${mib(after.heapTotal)}); external ${mib(before.external)} -> ${mib(after.external)} (arrayBuffers ${mib(before.arrayBuffers)} -> ${mib(after.arrayBuffers)}); V8 malloc ${mib(before.v8Malloced)} -> ${mib(after.v8Malloced)}`);
process.exit(running.some((r) => r.failure !== undefined) ? 1 : 0);
