import type { StateChange, StatusEvent } from '../client/ws/index.js';
import { formatMs } from './format.js';

/** What the indicator shows: the connection's state, or `stale` when a venue on the board is not up. */
export type IndicatorState = 'connecting' | 'live' | 'reconnecting' | 'stale' | 'closed';

/**
 * The connection indicator's model: the client's last state change (with the time the
 * next reconnect attempt is due) and the feed status of every venue that reported one.
 */
export class ConnectionView {
  private change: StateChange = { state: 'connecting', attempt: 1 };
  private reconnectAt = 0;
  private readonly venueStates = new Map<string, StatusEvent>();

  onState(change: StateChange, nowMs: number): void {
    this.change = change;
    this.reconnectAt = nowMs + (change.delayMs ?? 0);
    // The gateway repeats a venue's status after each subscribe only when it is not up, so
    // what was held from the previous connection may be outdated.
    if (change.state === 'live') this.venueStates.clear();
  }

  onStatus(event: StatusEvent): void {
    if (event.state === 'up') this.venueStates.delete(event.venue);
    else this.venueStates.set(event.venue, event);
  }

  /** The indicator's state and text, given which venues are on the board. */
  view(shown: (venue: string) => boolean, nowMs: number): { state: IndicatorState; text: string; title: string } {
    const { state, attempt, code, reason, error } = this.change;
    switch (state) {
      case 'connecting':
        return { state, text: attempt > 1 ? `connecting (attempt ${attempt})…` : 'connecting…', title: '' };
      case 'reconnecting':
        return {
          state,
          text: `reconnecting in ${formatMs(Math.max(0, this.reconnectAt - nowMs))}`,
          title: `connection closed (${code ?? '?'}${reason ? `: ${reason}` : ''}); attempt ${attempt} next`,
        };
      case 'closed':
        return { state, text: 'closed', title: error?.message ?? '' };
      case 'live': {
        const stale = [...this.venueStates.values()].filter((event) => shown(event.venue));
        if (stale.length === 0) return { state, text: 'live', title: '' };
        return {
          state: 'stale',
          text: `stale feed: ${stale.map((event) => event.venue).join(', ')}`,
          title: stale.map((event) => `${event.venue} ${event.state}${event.reason ? `: ${event.reason}` : ''}`).join('\n'),
        };
      }
    }
  }
}
