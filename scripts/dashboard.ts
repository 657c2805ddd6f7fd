// Regenerates dashboards/tickfan.json from scripts/dashboard/panels.ts.
import { writeFileSync } from 'node:fs';
import { dashboardText } from './dashboard/build.js';

writeFileSync(new URL('../dashboards/tickfan.json', import.meta.url), dashboardText());
