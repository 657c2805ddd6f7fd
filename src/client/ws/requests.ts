import type { ClientRequest, ErrorEvent, PongEvent, RefreshedEvent, SubscribedEvent, TopicsEvent, UnsubscribedEvent } from '../../wire/websocket.js';
import { TickfanError } from './errors.js';
import type { PlannedSubscribe } from './resubscribe.js';
import type { SubscribeOptions } from './types.js';

type Timer = ReturnType<typeof setTimeout>;

export interface RequestTableOptions {
  /** How long a caller waits for an answer (0 = forever). */
  readonly timeoutMs: number;
  /** Times a request refused for now (a retryable code) is sent again before it fails with that refusal. */
  readonly maxRetries: number;
  /** The wait before the `retry`-th sending again (1, 2, ...). */
  readonly retryDelayMs: (retry: number) => number;
}

/** What the table needs from the connection and tells the client. */
export interface RequestHooks {
  /** Whether requests can be sent now (the connection is live). */
  live(): boolean;
  send(frame: ClientRequest): void;
  /** A caller's subscribe was confirmed: these patterns are subscribed with these options. */
  subscribed(patterns: readonly string[], options: Required<SubscribeOptions>): void;
  /** A caller's unsubscribe was confirmed. */
  unsubscribed(patterns: readonly string[]): void;
  /** A resubscription was refused, for good or too many times: those patterns are gone. */
  resubscriptionFailed(patterns: readonly string[], err: TickfanError): void;
  /** A resubscription was refused for now; it goes again after a backoff. */
  resubscriptionRetried(err: TickfanError): void;
  /** The acknowledged patterns a renewal takes afresh now; none when there is nothing to renew. */
  renewal(): readonly string[];
  /** What to subscribe once a renewal's patterns are unsubscribed, planned at that moment. */
  renewalPlan(patterns: readonly string[]): PlannedSubscribe[];
  /** A renewal's unsubscribe was refused for good (or too many times): its subscriptions stay as they were. */
  renewalFailed(err: TickfanError): void;
}

interface Settle<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: Timer | undefined;
  settled: boolean;
}

/** A subscribe or unsubscribe: sent one at a time, in call order, so the server applies them in that order. */
type Mutation = (
  | { readonly kind: 'subscribe'; readonly patterns: readonly string[]; readonly options: Required<SubscribeOptions>; readonly settle: Settle<string[]> }
  | { readonly kind: 'unsubscribe'; readonly patterns: readonly string[]; readonly settle: Settle<string[]> }
  /** Sent again on a new connection; nobody waits for it. */
  | { readonly kind: 'resubscribe'; readonly plan: PlannedSubscribe; readonly settle?: undefined }
  /**
   * Takes topics afresh on this connection: unsubscribes the patterns hooks.renewal() names when it
   * is sent, then subscribes them again as hooks.renewalPlan() says. Nobody waits for it; a new
   * connection drops it, since its resubscriptions take everything afresh anyway.
   */
  | { readonly kind: 'renew'; patterns: readonly string[]; readonly settle?: undefined }
) & { id: number; retries: number };

/** The answers of queries, and their types. */
type QueryAnswer = TopicsEvent | PongEvent | RefreshedEvent;
type QueryAnswerType = QueryAnswer['type'];

/** A list, ping or refresh: independent, sent at once (or once live), sent again after a reconnect. */
interface Query {
  readonly id: number;
  readonly frame: ClientRequest;
  readonly type: QueryAnswerType;
  readonly settle: Settle<unknown>;
  readonly parse: (event: QueryAnswer, query: Query) => unknown;
  sentAt: number;
  retries: number;
  retryTimer: Timer | undefined;
}

/** A query as the caller gives it: the request without its id (Omit distributed over the union). */
export type QueryFrame = Extract<ClientRequest, { op: 'list' | 'ping' | 'refresh' }> extends infer R ? (R extends ClientRequest ? Omit<R, 'id'> : never) : never;

/**
 * The client's requests and their answers: ids, the one-at-a-time order of subscribes and
 * unsubscribes, the independent queries, the caller's timeouts, and the retries of what the
 * server refused for now (PROTOCOL.md section 5: RATE_LIMITED, UNAVAILABLE), bounded and with
 * backoff. It knows nothing of sockets: the client says when the connection is live or gone
 * and passes the answers in.
 */
export class RequestTable {
  private nextId = 1;
  private mutations: Mutation[] = [];
  private inFlight: Mutation | undefined;
  /** The in-flight mutation's wait before it goes again. */
  private retryTimer: Timer | undefined;
  private readonly queries = new Map<number, Query>();

  constructor(
    private readonly options: RequestTableOptions,
    private readonly hooks: RequestHooks,
  ) {}

  subscribe(patterns: readonly string[], options: Required<SubscribeOptions>): Promise<string[]> {
    return this.mutate((settle) => ({ kind: 'subscribe', patterns, options, settle, id: 0, retries: 0 }), `subscribe ${JSON.stringify(patterns)}`);
  }

  unsubscribe(patterns: readonly string[]): Promise<string[]> {
    return this.mutate((settle) => ({ kind: 'unsubscribe', patterns, settle, id: 0, retries: 0 }), `unsubscribe ${JSON.stringify(patterns)}`);
  }

  /** Sends `frame` (with a new id) and resolves with `parse` of its answer of `type`. */
  query<T>(frame: QueryFrame, type: QueryAnswerType, parse: (event: QueryAnswer, query: { readonly sentAt: number }) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      const settle = this.settler(resolve as (value: unknown) => void, reject, `${frame.op} (id ${id})`, () => this.dropQuery(id));
      const query: Query = { id, frame: { ...frame, id }, type, settle, parse, sentAt: 0, retries: 0, retryTimer: undefined };
      this.queries.set(id, query);
      if (this.hooks.live()) this.sendQuery(query);
    });
  }

  /**
   * Asks for a renewal (see Mutation), unless one is already waiting to be sent: that one names
   * its patterns when it goes, so it covers whatever is to be renewed by then.
   */
  renew(): void {
    if (this.mutations.some((m) => m.kind === 'renew')) return;
    this.mutations.push({ kind: 'renew', patterns: [], id: 0, retries: 0 });
    this.pump();
  }

  /** The connection is live: the resubscriptions go first, then what callers asked for meanwhile, in order. */
  connected(resubscriptions: readonly PlannedSubscribe[]): void {
    this.mutations.unshift(...resubscriptionsOf(resubscriptions));
    for (const query of this.queries.values()) if (query.retryTimer === undefined) this.sendQuery(query);
    this.pump();
  }

  /** The connection ended: what was in flight goes again on the next one; resubscriptions are planned afresh there. */
  disconnected(): void {
    if (this.inFlight !== undefined && !isPlannedAfresh(this.inFlight)) this.mutations.unshift(this.inFlight);
    this.inFlight = undefined;
    this.clearRetry();
    this.mutations = this.mutations.filter((m) => !isPlannedAfresh(m));
    for (const query of this.queries.values()) {
      clearTimeout(query.retryTimer);
      query.retryTimer = undefined;
    }
  }

  /** Ends everything: every caller's wait rejects with `err`, no timer stays. */
  fail(err: Error): void {
    this.clearRetry();
    const mutations = this.inFlight ? [this.inFlight, ...this.mutations] : this.mutations;
    this.inFlight = undefined;
    this.mutations = [];
    for (const mutation of mutations) if (mutation.settle) rejectWith(mutation.settle, err);
    for (const query of this.queries.values()) {
      clearTimeout(query.retryTimer);
      rejectWith(query.settle, err);
    }
    this.queries.clear();
  }

  onAnswer(event: SubscribedEvent | UnsubscribedEvent): void {
    const mutation = this.inFlight;
    if (mutation === undefined || mutation.id !== event.id) return;
    this.inFlight = undefined;
    if (mutation.kind === 'renew' && event.type === 'unsubscribed') this.mutations.unshift(...resubscriptionsOf(this.hooks.renewalPlan(mutation.patterns)));
    if (mutation.kind === 'subscribe' && event.type === 'subscribed') this.hooks.subscribed(mutation.patterns, mutation.options);
    else if (mutation.kind === 'unsubscribe' && event.type === 'unsubscribed') this.hooks.unsubscribed(mutation.patterns);
    if (mutation.settle) resolveWith(mutation.settle, Array.isArray(event.topics) ? event.topics : [...mutation.patterns]);
    this.pump();
  }

  onQueryAnswer(event: QueryAnswer): void {
    const query = typeof event.id === 'number' ? this.queries.get(event.id) : undefined;
    if (query === undefined || query.type !== event.type) return;
    this.queries.delete(query.id);
    resolveWith(query.settle, query.parse(event, query));
  }

  /** An error event; false when it answers no request of this table (the client reports it). */
  onError(event: ErrorEvent): boolean {
    if (event.id === undefined) return false;
    const err = TickfanError.fromEvent(event);
    const mutation = this.inFlight;
    if (mutation !== undefined && mutation.id === event.id) {
      this.inFlight = undefined;
      this.refuseMutation(mutation, err);
      return true;
    }
    const query = typeof event.id === 'number' ? this.queries.get(event.id) : undefined;
    if (query === undefined) return false;
    if (this.mayRetry(query, err)) {
      query.retryTimer = setTimeout(() => {
        query.retryTimer = undefined;
        if (this.hooks.live()) this.sendQuery(query);
      }, this.options.retryDelayMs(query.retries));
    } else {
      this.queries.delete(query.id);
      rejectWith(query.settle, err);
    }
    return true;
  }

  private refuseMutation(mutation: Mutation, err: TickfanError): void {
    if (this.mayRetry(mutation, err)) {
      // Nobody waits for a resubscription or a renewal: the client reports the refusal.
      if (mutation.settle === undefined) this.hooks.resubscriptionRetried(err);
      // It keeps its place: what was asked after it still waits behind it.
      this.inFlight = mutation;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.inFlight !== mutation) return;
        this.inFlight = undefined;
        this.mutations.unshift(mutation);
        this.pump();
      }, this.options.retryDelayMs(mutation.retries));
      return;
    }
    if (mutation.settle) rejectWith(mutation.settle, err);
    else if (mutation.kind === 'renew') this.hooks.renewalFailed(err);
    else this.hooks.resubscriptionFailed(mutation.plan.topics, err);
    this.pump();
  }

  /** Counts one more retry of a request refused with `err`, if it may go again. */
  private mayRetry(request: { retries: number; readonly settle?: { readonly settled: boolean } | undefined }, err: TickfanError): boolean {
    if (!err.retryable || request.retries >= this.options.maxRetries || request.settle?.settled) return false;
    request.retries++;
    return true;
  }

  private mutate(make: (settle: Settle<string[]>) => Mutation, what: string): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      let mutation: Mutation | undefined;
      const settle = this.settler(resolve, reject, what, () => {
        // Not sent yet: it never will be. Sent: an answer that still comes is applied.
        const index = this.mutations.indexOf(mutation!);
        if (index >= 0) this.mutations.splice(index, 1);
      });
      mutation = make(settle);
      this.mutations.push(mutation);
      this.pump();
    });
  }

  private settler<T>(resolve: (value: T) => void, reject: (err: Error) => void, what: string, onTimeout: () => void): Settle<T> {
    const settle: Settle<T> = { resolve, reject, timer: undefined, settled: false };
    const ms = this.options.timeoutMs;
    if (ms > 0) {
      settle.timer = setTimeout(() => {
        settle.timer = undefined;
        onTimeout();
        // A subscription answered later still counts: only the caller's wait ends here.
        rejectWith(settle, new TickfanError('TIMEOUT', `no answer to ${what} within ${ms} ms`));
      }, ms);
    }
    return settle;
  }

  private dropQuery(id: number): void {
    const query = this.queries.get(id);
    clearTimeout(query?.retryTimer);
    this.queries.delete(id);
  }

  private sendQuery(query: Query): void {
    query.sentAt = performance.now();
    this.hooks.send(query.frame);
  }

  /** Sends the next subscribe/unsubscribe when none is waiting for its answer. */
  private pump(): void {
    while (this.hooks.live() && this.inFlight === undefined && this.mutations.length > 0) {
      const mutation = this.mutations.shift()!;
      // The caller's wait timed out before it was sent (again): it failed, so it is not sent.
      if (mutation.settle?.settled) continue;
      if (mutation.kind === 'renew' && (mutation.patterns = this.hooks.renewal()).length === 0) continue;
      mutation.id = this.nextId++;
      this.inFlight = mutation;
      this.hooks.send(frameOf(mutation));
    }
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

function frameOf(mutation: Mutation): ClientRequest {
  const { id } = mutation;
  switch (mutation.kind) {
    case 'unsubscribe':
      return { op: 'unsubscribe', id, topics: mutation.patterns };
    case 'subscribe':
      return { op: 'subscribe', id, topics: mutation.patterns, snapshot: mutation.options.snapshot, conflate: mutation.options.conflate };
    case 'resubscribe':
      return { op: 'subscribe', id, ...mutation.plan };
    case 'renew':
      return { op: 'unsubscribe', id, topics: mutation.patterns };
  }
}

function resubscriptionsOf(plans: readonly PlannedSubscribe[]): Mutation[] {
  return plans.map((plan) => ({ kind: 'resubscribe', plan, id: 0, retries: 0 }));
}

/** Requests the client plans from its state when they go, made again from scratch on a new connection. */
function isPlannedAfresh(mutation: Mutation): boolean {
  return mutation.kind === 'resubscribe' || mutation.kind === 'renew';
}

function resolveWith<T>(settle: Settle<T>, value: T): void {
  if (settle.settled) return;
  settle.settled = true;
  clearTimeout(settle.timer);
  settle.resolve(value);
}

function rejectWith<T>(settle: Settle<T>, err: Error): void {
  if (settle.settled) return;
  settle.settled = true;
  clearTimeout(settle.timer);
  settle.reject(err);
}
