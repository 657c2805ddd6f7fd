/** The two requests the benchmark's clients send (PROTOCOL.md section 5): the first subscribe, and the resume after a restart. */

export interface Position {
  readonly epoch: number;
  readonly seq: number;
}

/** Subscribes to `topic` with its snapshot first, so the client learns where it stands. */
export function subscribeRequest(topic: string): string {
  return JSON.stringify({ op: 'subscribe', id: 1, topics: [topic], snapshot: true });
}

/** Subscribes again resuming after `since`: the missed ticks come from history or REPLAY, or a snapshot. */
export function resumeRequest(topic: string, since: Position | undefined): string {
  if (since === undefined) return subscribeRequest(topic);
  return JSON.stringify({ op: 'subscribe', id: 2, topics: [topic], snapshot: true, since: { [topic]: since } });
}
