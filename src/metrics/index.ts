export { createRegistry } from './registry.js';
export { BucketHistogram } from './histogram.js';
export { counterOf, countersBy, gaugeOf, gaugesBy, type Labels } from './views.js';
export { MetricsServer, type MetricsServerOptions, type ReadinessCheck } from './server.js';
