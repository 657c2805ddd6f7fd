import { VERSION } from '../../src/cli/version.js';
import { FabricSecurity } from '../../src/curve/index.js';
import type { RoleContext } from '../../src/role/index.js';

/** What the CLI starts a role with, on a fabric without CURVE. */
export const PLAIN_ROLE_CONTEXT: RoleContext = { version: VERSION, security: FabricSecurity.PLAIN, roles: [] };
