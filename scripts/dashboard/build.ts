import { ROWS, type Panel } from './panels.js';

/** Grafana's dashboard schema version this file is written in (Grafana 10.x/11.x). */
export const SCHEMA_VERSION = 39;
const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
const PANEL_WIDTH = 8;
const PANEL_HEIGHT = 8;

/** dashboards/tickfan.json: importable, with a DS_PROMETHEUS input and job/instance/venue variables. */
export function buildDashboard(): Record<string, unknown> {
  const panels: unknown[] = [];
  let y = 0;
  let id = 1;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((panel, i) => {
      const x = (i * PANEL_WIDTH) % 24;
      if (i > 0 && x === 0) y += PANEL_HEIGHT;
      panels.push(timeseries(id++, panel, { h: PANEL_HEIGHT, w: PANEL_WIDTH, x, y }));
    });
    y += PANEL_HEIGHT;
  }
  return {
    __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', description: 'The Prometheus that scrapes tickfan', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.4.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
      { type: 'panel', id: 'row', name: 'Row', version: '' },
    ],
    annotations: { list: [] },
    description: 'tickfan market-data fan-out: flow, freshness, clients, snapshot service, processes. Alert rules: dashboards/alerts.yml.',
    editable: true,
    graphTooltip: 1,
    id: null,
    uid: 'tickfan',
    title: 'tickfan',
    tags: ['tickfan', 'market-data'],
    links: [],
    panels,
    refresh: '10s',
    schemaVersion: SCHEMA_VERSION,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    version: 1,
    templating: {
      list: [
        variable('job', 'label_values(process_cpu_seconds_total, job)'),
        variable('instance', 'label_values(process_cpu_seconds_total{job=~"$job"}, instance)'),
        variable('venue', 'label_values(tickfan_snapshot_venue_last_tick_age_seconds{job=~"$job"}, venue)'),
      ],
    },
  };
}

function timeseries(id: number, panel: Panel, gridPos: { h: number; w: number; x: number; y: number }): unknown {
  return {
    id,
    type: 'timeseries',
    title: panel.title,
    description: panel.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults: { unit: panel.unit, custom: { lineWidth: 1, fillOpacity: 10, showPoints: 'never' } }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: panel.queries.map((query, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: query.expr, legendFormat: query.legend, range: true })),
  };
}

function variable(name: string, query: string): unknown {
  return {
    name,
    label: name,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    includeAll: true,
    allValue: '.*',
    multi: true,
    current: {},
    refresh: 2,
    sort: 1,
    hide: 0,
    options: [],
  };
}

/** The file's text, as committed. */
export function dashboardText(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}
