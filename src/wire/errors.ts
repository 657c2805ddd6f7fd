/**
 * Why a message or record was refused. The set is closed on purpose: it becomes a metric
 * label, and a label must never take unbounded values. `reply` is a snapshot reply that is not
 * one of the shapes of PROTOCOL.md section 4.
 */
export const REJECT_REASONS = ['frame_count', 'topic', 'header', 'version', 'flags', 'reserved', 'epoch', 'seq', 'ts', 'json', 'record', 'mismatch', 'reply'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}
