/**
 * The IPC contract between a benchmark and its child programs: the parent calls a child's
 * methods by name, one JSON value in, one out. Each child program exports the type of its
 * method table, so calls are typed end to end.
 */

/** A child program's methods: each takes one JSON-serialisable value and resolves with one. */
export type Methods = Record<string, (params: never) => Promise<unknown>>;

export type ParamsOf<M extends Methods, K extends keyof M> = Parameters<M[K]>[0];
export type ResultOf<M extends Methods, K extends keyof M> = Awaited<ReturnType<M[K]>>;

/** Parent -> child. */
export type Request =
  | { readonly type: 'call'; readonly id: number; readonly method: string; readonly params: unknown }
  | { readonly type: 'exit' };

/** Child -> parent. */
export type Response =
  | { readonly type: 'hello' }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: string };
