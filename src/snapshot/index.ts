export { startSnapshotRole, type SnapshotRole, type SnapshotRoleConfig } from './role.js';
export { SnapshotStore, type StoreLimits, type StoredMessage, type IngestResult } from './store.js';
export { SnapshotService, type ServiceOptions } from './service.js';
export { registerSnapshotMetrics } from './metrics.js';
export { snapshotSchema, type SnapshotSettings } from './settings.js';
