/**
 * Why a message or record was refused. The set is closed on purpose: it becomes a metric
 * label, and a label must never take unbounded values.
 */
export const REJECT_REASONS = ['frame_count', 'topic', 'header', 'version', 'flags', 'reserved', 'epoch', 'seq', 'ts', 'json', 'record', 'mismatch'] as const;
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
