import test from 'ava';
import { pino } from 'pino';
import { ThrottledWarning, type Logger } from '../../src/log/index.js';

function recordingLogger(): { log: Logger; lines: { kind: string; suppressed: number }[] } {
  const lines: { kind: string; suppressed: number }[] = [];
  const log: Logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as { kind: string; suppressed: number }) });
  return { log, lines };
}

test('logs the first warning of a kind, then at most one per interval with how many were suppressed', (t) => {
  const { log, lines } = recordingLogger();
  const warnings = new ThrottledWarning(log, 0);
  const throttled = new ThrottledWarning(log, 60_000);
  for (let i = 0; i < 5; i++) throttled.warn('a', {}, 'bad input');
  throttled.warn('b', {}, 'bad input');
  t.deepEqual(lines.map((l) => l.kind), ['a', 'b'], 'once per kind within the interval');
  warnings.warn('c', {}, 'x');
  warnings.warn('c', {}, 'x');
  t.deepEqual(lines.slice(2).map((l) => [l.kind, l.suppressed]), [['c', 0], ['c', 0]], 'with a zero interval every one is logged');
});

test('kinds that come from peers (a refused key per attempt) cannot grow it without bound', (t) => {
  const { log } = recordingLogger();
  const warnings = new ThrottledWarning(log, 60_000);
  for (let i = 0; i < 5000; i++) warnings.warn(`key ${i}`, {}, 'refused');
  const held = (warnings as unknown as { lastLogged: Map<string, unknown> }).lastLogged;
  t.true(held.size <= 1001, `held ${held.size} kinds after 5,000 distinct ones`);
  t.true(held.has('key 4999'), 'the newest kind is kept');
});
