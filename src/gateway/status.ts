import type { Update } from '../client/zmq/index.js';
import { isNewer, nowMicros, type StatusRecord, type VenueState } from '../wire/index.js';

/** A venue's feed status as the gateway holds it, with its `status` event text ready to send. */
export interface VenueStatus {
  readonly venue: string;
  readonly state: VenueState;
  readonly text: string;
}

interface Held extends VenueStatus {
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
}

/**
 * The feed status of each venue (`status.<venue>` messages, PROTOCOL.md section 1). Feeds repeat
 * their status every few seconds; clients hear of it only when a venue's state changes, so
 * `apply` answers with an event only then.
 */
export class VenueStatusBoard {
  private readonly venues = new Map<string, Held>();
  /** While every line to the fabric is down: why. Every venue then shows as stale, whatever its feed last said. */
  private cutOff: string | undefined;

  /**
   * Records an update of a `status.<venue>` topic (validated upstream); returns the venue's
   * status when its state changed (or is first seen), undefined for a repeat or an update older
   * than the one held.
   */
  apply(update: Update): VenueStatus | undefined {
    const record = update.record as StatusRecord;
    const { venue } = record;
    const held = this.venues.get(venue);
    const { epoch, seq, ts } = update;
    if (!isNewer(held, update)) return undefined;
    const text = JSON.stringify({ type: 'status', venue, state: record.state, reason: record.reason, ts });
    const status: Held = { venue, state: record.state, text, epoch, seq, ts };
    this.venues.set(venue, status);
    return held?.state === record.state || this.cutOff !== undefined ? undefined : status;
  }

  /**
   * Every line to the fabric went down (`reason`), or one came back (undefined): the status of
   * every known venue, as clients must now hear it. While cut off a venue is stale, since
   * nothing this gateway serves moves; once back, each venue shows what its feed last said.
   */
  setCutOff(reason: string | undefined): VenueStatus[] {
    if (reason === this.cutOff) return [];
    this.cutOff = reason;
    return [...this.venues.values()].map((held) => this.shown(held));
  }

  /** Venues whose feed is not up: a new subscriber hears of them at once. */
  notUp(): VenueStatus[] {
    return [...this.venues.values()].map((held) => this.shown(held)).filter((status) => status.state !== 'up');
  }

  private shown(held: Held): VenueStatus {
    if (this.cutOff === undefined) return held;
    const { venue } = held;
    return { venue, state: 'stale', text: JSON.stringify({ type: 'status', venue, state: 'stale', reason: this.cutOff, ts: nowMicros() }) };
  }

  /** Drops venues whose status is no longer followed. */
  retain(wanted: (topic: string) => boolean): void {
    for (const venue of this.venues.keys()) if (!wanted(`status.${venue}`)) this.venues.delete(venue);
  }
}
