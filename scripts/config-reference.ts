// Regenerates the configuration reference in README.md from the convict schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { schema } from '../src/cli/config.js';
import { withConfigReference } from '../src/config/index.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, withConfigReference(readFileSync(readme, 'utf8'), schema));
