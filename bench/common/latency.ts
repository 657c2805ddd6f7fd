/**
 * The benchmarks' latency histograms (HdrHistogram, 3 significant digits, microseconds): the
 * child processes record, the parent merges, each crossing the IPC channel as its compressed
 * base64 encoding.
 */
import hdr, { type Histogram } from 'hdr-histogram-js';

/** Ten minutes: anything slower is clamped, and a benchmark that slow has failed anyway. */
const HIGHEST_MICROS = 600_000_000;

/**
 * `recording`: for where every message or event is recorded (the pipeline's subscriber, the
 * fan-out's load processes). hdr-histogram-js's WebAssembly build records a value in about
 * 15 ns against about 100 ns for its JavaScript one (measured in a load process), which made
 * recording as costly as finding the events. Needs `await prepareRecording()` first. Both
 * encode alike, so the parent merges them as plain ones.
 */
export function latencyHistogram(recording = false): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_MICROS, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: recording });
}

export function prepareRecording(): Promise<void> {
  return hdr.initWebAssembly();
}

export function recordLatency(histogram: Histogram, micros: number): void {
  // Clocks of two processes can disagree by a microsecond or so; clamp instead of failing.
  histogram.recordValue(Math.min(HIGHEST_MICROS, Math.max(1, Math.round(micros))));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = latencyHistogram();
  for (const one of encoded) total.add(hdr.decodeFromCompressedBase64(one));
  return total;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Microseconds; undefined when nothing was recorded. */
export function percentiles(histogram: Histogram): Percentiles | undefined {
  if (histogram.totalCount === 0) return undefined;
  return {
    count: histogram.totalCount,
    p50: histogram.getValueAtPercentile(50),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
  };
}
