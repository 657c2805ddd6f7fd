import { readFileSync } from 'node:fs';
import test from 'ava';
import { dashboardText, SCHEMA_VERSION } from '../../scripts/dashboard/build.js';

const committed = readFileSync(new URL('../../dashboards/tickfan.json', import.meta.url), 'utf8');
const dashboard = JSON.parse(committed) as {
  __inputs: { name: string; type: string; pluginId: string }[];
  schemaVersion: number;
  templating: { list: { name: string }[] };
  panels: { type: string; title: string; datasource?: { uid: string }; targets?: { datasource: { uid: string } }[] }[];
};

test('dashboards/tickfan.json is what scripts/dashboard/ generates (run `npm run dashboards`)', (t) => {
  t.is(committed, dashboardText());
});

test('importable: a DS_PROMETHEUS datasource input every panel and query uses, the current schemaVersion, job/instance/venue variables', (t) => {
  t.deepEqual(dashboard.__inputs.map((input) => [input.name, input.type, input.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']]);
  t.is(dashboard.schemaVersion, SCHEMA_VERSION);
  t.true(SCHEMA_VERSION >= 39);
  t.deepEqual(dashboard.templating.list.map((v) => v.name), ['job', 'instance', 'venue']);
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    t.is(panel.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
    t.true(panel.targets!.every((target) => target.datasource.uid === '${DS_PROMETHEUS}'), panel.title);
  }
});

test('rows: Flow, Freshness, Clients, Snapshot, Process', (t) => {
  t.deepEqual(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title), ['Flow', 'Freshness', 'Clients', 'Snapshot', 'Process', 'Lines']);
});
