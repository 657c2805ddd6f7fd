export { createRegistry } from './registry.js';
export { BucketHistogram } from './histogram.js';
export { counterOf, countersBy, gaugeOf, gaugesBy, withZeros, type Labels } from './views.js';
export { registerLineMetrics, type LineView } from './lines.js';
export { MetricsServer, type MetricsServerOptions, type ReadinessCheck } from './server.js';
