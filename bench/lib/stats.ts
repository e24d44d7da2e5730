import type { LatencySummary } from "./jobs.ts";

/** Collects latency samples (ms) and summarises them; sorting happens once, at the end. */
export class LatencyRecorder {
  private samples: number[] = [];

  record(ms: number): void {
    this.samples.push(ms);
  }

  /** Takes in every sample of `other` too. */
  add(other: LatencyRecorder): void {
    for (const sample of other.samples) this.samples.push(sample);
  }

  get count(): number {
    return this.samples.length;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.samples).sort();
    const at = (q: number): number => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN));
    return { count: sorted.length, min: sorted.length === 0 ? Number.NaN : (sorted[0] ?? Number.NaN), p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN) };
  }
}

/** Per second, from a count over a window in milliseconds. */
export function perSecond(count: number, windowMs: number): number {
  return windowMs > 0 ? (count * 1000) / windowMs : 0;
}
