/** A tickfan process's own counters, read from its /metrics endpoint (Prometheus text format). */
import { request } from 'node:http';

const SCRAPE_MS = 5_000;

/** Each metric's value summed over its labels, by metric name. */
export type MetricTotals = Map<string, number>;

export function scrapeTotals(port: number): Promise<MetricTotals> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', timeout: SCRAPE_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(parseTotals(text)) : reject(new Error(`GET :${port}/metrics answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET :${port}/metrics took longer than ${SCRAPE_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function parseTotals(text: string): MetricTotals {
  const totals: MetricTotals = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const value = Number(match[2]);
    if (Number.isFinite(value)) totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + value);
  }
  return totals;
}
