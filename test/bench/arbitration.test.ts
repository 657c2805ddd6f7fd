import test from 'ava';
import { runCase, startProcesses, stopProcesses, type Processes, type RunSettings } from '../../bench/arbitration/run.js';
import { mergeHistograms, percentiles } from '../../bench/common/latency.js';

/**
 * The bench's core on tiny counts: 5 topics at 1,000 msgs/s evenly, so each topic's next message
 * comes every 5 ms, well before a line 20 ms behind brings the copy of one lost on the other:
 * every one-line loss opens a hole. Windows and grace are generous, as the machine may be busy.
 */
const SETTINGS: RunSettings = { rate: 1_000, topics: 5, skew: 0, seed: 7, warmupSeconds: 0.5, seconds: 0.5, graceMs: 1_000, hwm: 100_000 };
const HEALTHY = { loss: 0, lagMs: 0 };

let procs: Processes | undefined;

test.before(async () => {
  procs = await startProcesses();
});

test.after.always(async () => {
  if (procs !== undefined) await stopProcesses(procs);
});

test.serial('a loss on one line is filled by the other within the window: every message delivered once, in order, no gap', async (t) => {
  const { source, receiver } = await runCase(procs!, {
    name: 'A loses 5%, B 20 ms behind', lines: [{ loss: 0.05, lagMs: 0 }, { loss: 0, lagMs: 20 }],
    commonLoss: 0, arbitrationMs: 500,
  }, SETTINGS);
  t.true(source.lostPerLine[0]! > 0, 'line A lost messages');
  t.is(source.lostEverywhere, 0);
  t.is(receiver.delivered, source.sent);
  t.is(receiver.gaps, 0);
  t.is(receiver.orderErrors, 0);
  t.true(receiver.holesFilled > 0, 'holes were filled by line B');
  t.is(receiver.holesExpired, 0);
  t.true(receiver.duplicates > 0, "line B's copies of what A delivered were dropped");
});

test.serial('a loss on both lines waits out the window and is passed on as a gap', async (t) => {
  const windowMs = 20;
  const { source, receiver } = await runCase(procs!, { name: 'both lose 5%', lines: [HEALTHY, HEALTHY], commonLoss: 0.05, arbitrationMs: windowMs }, SETTINGS);
  t.true(source.lostEverywhere > 0, 'messages were lost on both lines');
  t.is(receiver.delivered, source.sent - source.lostEverywhere);
  t.true(receiver.gaps > 0, 'the reader saw the losses as gaps');
  t.is(receiver.orderErrors, 0);
  t.true(receiver.holesExpired > 0);
  t.is(receiver.holesFilled, 0);
  t.true(percentiles(mergeHistograms([receiver.latency]))!.max >= windowMs * 1000, 'what followed a real loss waited the whole window');
});
