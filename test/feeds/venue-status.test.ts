import test from 'ava';
import { recordedLine } from '../../src/feeds/replay/index.js';
import type { StatusRecord } from '../../src/wire/index.js';
import { FeedFabric } from './_fabric.js';
import { fileWith, T0, tick } from './_recordings.js';

/** Consecutive equal states collapsed: the transitions a subscriber saw. */
function transitions(statuses: readonly StatusRecord[]): string[] {
  return statuses.map((s) => s.state).filter((state, i, all) => i === 0 || all[i - 1] !== state);
}

test('a plain SUB sees status.<venue> go up, stale while the feed pauses, up again, down at its end and at shutdown', async (t) => {
  // Ticks for 0.3 s, a 1.5 s pause (stale after 0.5 s), ticks for 0.3 s more, then the end of the file.
  const at = [0, 100, 200, 300, 1800, 1900, 2000, 2100];
  const text = at.map((ms, i) => recordedLine({ topic: 'tick.RP.X', epoch: 7, seq: i + 1, ts: T0 + ms * 1000, record: tick(i) })).join('');
  const { file, cleanup } = fileWith('paused.ndjson', text);
  const fabric = await new FeedFabric().start(['status.RP'], {
    TICKFAN_FEEDS_REPLAY_FILE: file,
    TICKFAN_FEEDS_STALE_AFTER_MS: '500',
    TICKFAN_FEEDS_STATUS_REPEAT_MS: '300',
  });
  const statuses = () => fabric.of('status.RP').map((m) => m.record as StatusRecord);
  await fabric.until(() => transitions(statuses()).join() === 'up,stale,up,down', 'up, stale, up, down', 15_000);
  await fabric.stop();
  await fabric.until(() => statuses().at(-1)?.reason === 'shutdown', 'the shutdown status');
  const seen = statuses();
  t.deepEqual(transitions(seen), ['up', 'stale', 'up', 'down']);
  t.like(seen.find((s) => s.state === 'stale'), { venue: 'RP', reason: 'no tick for 500 ms' });
  t.regex(seen.find((s) => s.state === 'down')!.reason!, /end of replay file/);
  t.true(seen.filter((s) => s.state === 'stale').length >= 2, 'the stale state is repeated while it lasts');
  const seqs = fabric.of('status.RP').map((m) => m.header.seq);
  t.deepEqual(seqs, seqs.map((_, i) => i + 1), 'status.RP has its own contiguous seq');
  t.deepEqual(fabric.role.venues().map((v) => [v.venue, v.state]), [['RP', 'down']]);
  const [replay] = fabric.role.adapters();
  t.like(replay, { name: 'replay', ticks: 8, restarts: 0, venues: ['RP'] });
  await fabric.close();
  cleanup();
});
