import type { Registry } from 'prom-client';
import { countersBy, gaugesBy } from './views.js';

/** What a subscriber of the fabric reports about its lines (client/zmq LineSet, the gateway's upstream). */
export interface LineView {
  lines(): readonly { readonly endpoint: string; readonly up: boolean; readonly duplicates: number; readonly overruns: number }[];
  holes(): { readonly filled: number; readonly expired: number };
}

/** The A/B line metrics of a role that subscribes to the fabric, `tickfan_<role>_line_*`. */
export function registerLineMetrics(registry: Registry, role: string, view: LineView): void {
  gaugesBy(registry, `tickfan_${role}_line_up`, 'Whether each line to the fabric (a proxy backend) is connected and answering ZMTP heartbeats: 1 up, 0 down.', ['endpoint'], function* () {
    for (const line of view.lines()) yield [{ endpoint: line.endpoint }, line.up ? 1 : 0];
  });
  countersBy(registry, `tickfan_${role}_line_duplicates_total`, 'Copies a line brought of messages another line had already delivered (A/B arbitration): dropped.', ['endpoint'], function* () {
    for (const line of view.lines()) yield [{ endpoint: line.endpoint }, line.duplicates];
  });
  countersBy(registry, `tickfan_${role}_line_overruns_total`, 'Messages a line lost because its reader in this process was a whole receive queue (subscriber.receiveHwm) behind: each is a seq gap, repaired.', ['endpoint'], function* () {
    for (const line of view.lines()) yield [{ endpoint: line.endpoint }, line.overruns];
  });
  countersBy(registry, `tickfan_${role}_line_holes_total`, 'Seq jumps on a line: filled by another line within subscriber.arbitrationMs, or expired and repaired as a gap.', ['outcome'], function* () {
    const { filled, expired } = view.holes();
    yield [{ outcome: 'filled' }, filled];
    yield [{ outcome: 'expired' }, expired];
  });
}
