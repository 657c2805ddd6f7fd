// Renders the fault matrix of docs/reliability.md from the results the suite wrote (test/fleet/matrix.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { DOC_FILE, readResults, RESULTS_FILE, withTable } from '../test/fleet/results.js';

let results;
try {
  results = readResults();
} catch (err) {
  console.error(`cannot read ${RESULTS_FILE} (${(err as Error).message}): run the suite first, as root: npm run build && npx ava test/fleet/matrix.test.ts`);
  process.exit(1);
}
writeFileSync(DOC_FILE, withTable(readFileSync(DOC_FILE, 'utf8'), results));
console.log(`docs/reliability.md: ${results.rows.length} rows from ${RESULTS_FILE}`);
