// The tests and bench/fanout start tickfan processes alike; bench/ may not import from test/, so the module lives there.
export * from '../../bench/common/tickfan-process.js';
