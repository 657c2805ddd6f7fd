import { readFileSync } from 'node:fs';
import test from 'ava';
import { DOC_FILE, faultsInDoc, renderTable, withTable, type RowResult } from './results.js';
import { ROWS } from './rows.js';

test('docs/reliability.md lists exactly the fault matrix\'s rows, in the suite\'s order', (t) => {
  t.deepEqual(faultsInDoc(readFileSync(DOC_FILE, 'utf8')), ROWS.map((row) => row.fault), 'run the suite and npm run docs:reliability');
});

test('the rendered table has one line per row, and re-rendering replaces the table between the markers', (t) => {
  const row: RowResult = {
    fault: 'SIGKILL x, restarted', rate: 2000, held: false, failures: ['x saw every seq in order (1 holes, 3 seqs missing)'],
    clients: [{
      name: 'ws-every-0', kind: 'ws', conflate: false, applied: 10, holes: 1, lostSeqs: 3, appliedTwice: 0, epochChanges: 0, reconnects: 1,
      closeCodes: [1006], sdk: { duplicates: 0 }, repaired: 0, recoveredMs: 120, longestSilenceMs: 150,
    }],
    clientsPerGateway: [2, 2], gatewayRepairs: { verifyRepairs: 0 }, replays: 0, lostAtSource: 0, recoveryMs: 120, settleMs: 5, settled: true, differences: {},
  };
  const table = renderTable({ when: '2026-01-01', machine: '2 cores', rows: [row] });
  t.is(table.split('\n').length, 3);
  t.regex(table, /\| SIGKILL x, restarted \| 2,000 \| WS: 1\/1 reconnected \(close 1006\); conflate:false: 1 holes; .* \| 120 ms \| 3 \| \*\*no\*\*: x saw every seq/);
  const doc = withTable(withTable(readFileSync(DOC_FILE, 'utf8'), { when: '2026-01-01', machine: '2 cores', rows: [row] }), { when: '2026-01-02', machine: '4 cores', rows: [row, { ...row, fault: 'other' }] });
  t.deepEqual(faultsInDoc(doc), ['SIGKILL x, restarted', 'other']);
  t.true(doc.includes('Measured 2026-01-02 on 4 cores.') && !doc.includes('2026-01-01'));
});
