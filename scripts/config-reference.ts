// Regenerates the configuration reference in README.md from the convict schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigReference } from '../src/config/reference.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, withConfigReference(readFileSync(readme, 'utf8')));
