import type convict from 'convict';
import { checkedFormat, loadSettings, sharedSchema, type LoadOptions, type SettingsCheck, type SharedSettings } from '../config/index.js';
import { curveSchema, type CurveSettings } from '../curve/index.js';
import { feedsSchema, feedsSettingsProblem, noFeedProblem, type FeedsSettings } from '../feeds/index.js';
import { gatewaySchema, gatewaySettingsProblem, type GatewaySettings } from '../gateway/index.js';
import { proxySchema, proxySettingsProblem, type ProxySettings } from '../proxy/index.js';
import { snapshotSchema, type SnapshotSettings } from '../snapshot/index.js';
import { ROLES, type Role } from './roles.js';

/** The whole configuration of tickfan: the shared keys, which roles to run, and every role's own keys. */
export interface TickfanConfig extends SharedSettings {
  readonly roles: readonly Role[];
  readonly proxy: ProxySettings;
  readonly snapshot: SnapshotSettings;
  readonly gateway: GatewaySettings;
  readonly feeds: FeedsSettings;
  readonly curve: CurveSettings;
}

function rolesProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((r) => (ROLES as readonly unknown[]).includes(r))
    && new Set(value).size === value.length;
  return ok ? undefined : `must be a non-empty list of distinct roles from: ${ROLES.join(', ')}`;
}

/** In the order of the configuration reference in README.md. */
export const schema: convict.Schema<TickfanConfig> = {
  log: sharedSchema.log,
  roles: {
    doc: `Roles \`tickfan start\` runs in this process, comma-separated: ${ROLES.join(', ')}. --roles overrides.`,
    format: checkedFormat(`list of: ${ROLES.join(', ')}`, rolesProblem, (value) => value.split(',').map((r) => r.trim())),
    default: [...ROLES],
  },
  zmq: sharedSchema.zmq,
  metrics: sharedSchema.metrics,
  ...proxySchema,
  connect: sharedSchema.connect,
  ...snapshotSchema,
  subscriber: sharedSchema.subscriber,
  ...gatewaySchema,
  ...feedsSchema,
  ...curveSchema,
};

function idleFeedRoleProblem(config: TickfanConfig): string | undefined {
  const problem = config.roles.includes('feed') ? noFeedProblem(config) : undefined;
  return problem === undefined ? undefined : `roles includes feed but ${problem} or drop feed from roles`;
}

const CHECKS: readonly SettingsCheck<TickfanConfig>[] = [proxySettingsProblem, idleFeedRoleProblem, feedsSettingsProblem, gatewaySettingsProblem];

/** The configuration from defaults, config file, TICKFAN_* variables and flags, refused whole if anything is wrong. */
export function loadConfig(options: LoadOptions = {}): TickfanConfig {
  return loadSettings(schema, options, CHECKS);
}
