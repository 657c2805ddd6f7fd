import type { Registry } from 'prom-client';
import type { FabricSecurity } from '../curve/index.js';

/** What every role is started with besides its settings and logger: the same for all roles of a process. */
export interface RoleContext {
  /** The process's version, which the gateway announces. */
  readonly version: string;
  /** CurveZMQ of the fabric (PROTOCOL.md section 7), opened once per process: one ZAP handler serves every role. */
  readonly security: FabricSecurity;
  /** Every role this process runs (several in the all-in-one): a role may work differently beside another (proxy.mode auto). */
  readonly roles: readonly string[];
}

/**
 * What starting any role gives back, so the CLI runs every role the same way. A role may
 * offer more (its inner service, for tests and metrics), but this is all the CLI uses.
 */
export interface RoleHandle {
  /** Adds the role's metrics to the process registry. */
  registerMetrics(registry: Registry): void;
  /** Whether the role can do its job now (PROTOCOL.md section 6, /readyz). */
  ready(): boolean | Promise<boolean>;
  /**
   * Hands the role's clients over before a deploy's stop (SIGTERM), while everything else still
   * runs: only roles that hold clients drain (the gateway, PROTOCOL.md section 5). Not ready
   * from the call on; resolves when the clients are gone or the role's drain window ends.
   */
  drain?(): Promise<void>;
  /** Stops the role and releases its sockets and files. */
  stop(): Promise<void>;
}
