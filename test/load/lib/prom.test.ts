import { describe, expect, it } from 'vitest';
import { histogramDelta, histogramOf, histogramQuantile, histogramUpperBound, parseMetrics, sumOf } from './prom.ts';

const TEXT = `# HELP ait_appends_received_total Appends received.
# TYPE ait_appends_received_total counter
ait_appends_received_total{app_id="a"} 120
ait_appends_received_total{app_id="b"} 30
# TYPE ait_rollup_flush_lateness_ms histogram
ait_rollup_flush_lateness_ms_bucket{le="1",app_id="a"} 50
ait_rollup_flush_lateness_ms_bucket{le="5",app_id="a"} 90
ait_rollup_flush_lateness_ms_bucket{le="10",app_id="a"} 100
ait_rollup_flush_lateness_ms_bucket{le="+Inf",app_id="a"} 100
ait_rollup_flush_lateness_ms_sum{app_id="a"} 210
ait_rollup_flush_lateness_ms_count{app_id="a"} 100
ait_escaped{path="a\\"b"} 1
`;

describe('Prometheus text in benchmark reports', () => {
  const samples = parseMetrics(TEXT);

  it('sums counters over series, optionally filtered by labels', () => {
    expect(sumOf(samples, 'ait_appends_received_total')).toBe(150);
    expect(sumOf(samples, 'ait_appends_received_total', { app_id: 'b' })).toBe(30);
    expect(sumOf(samples, 'ait_missing_total')).toBe(0);
    expect(samples.find((s) => s.name === 'ait_escaped')?.labels.path).toBe('a"b');
  });

  it('reads a histogram and interpolates quantiles like histogram_quantile', () => {
    const h = histogramOf(samples, 'ait_rollup_flush_lateness_ms');
    expect(h.count).toBe(100);
    expect(h.sum).toBe(210);
    expect(h.buckets.map((b) => b.le)).toEqual([1, 5, 10, Number.POSITIVE_INFINITY]);
    expect(histogramQuantile(h, 0.5)).toBe(1); // rank 50 is the top of the first bucket
    expect(histogramQuantile(h, 0.7)).toBe(3); // 1 + 4 * (70 - 50) / 40
    expect(histogramQuantile(h, 0.95)).toBe(7.5);
    expect(histogramUpperBound(h, 0.95)).toBe(10);
    expect(histogramQuantile({ buckets: [], count: 0, sum: 0 }, 0.5)).toBeNaN();
  });

  it('reports the highest finite bound when the quantile falls in +Inf', () => {
    const h = {
      buckets: [
        { le: 5, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ],
      count: 10,
      sum: 0,
    };
    expect(histogramQuantile(h, 0.999)).toBe(5);
    expect(histogramUpperBound(h, 0.999)).toBe(Number.POSITIVE_INFINITY);
  });

  it('subtracts an earlier scrape so a report covers one phase', () => {
    const after = histogramOf(samples, 'ait_rollup_flush_lateness_ms');
    const before = {
      buckets: [
        { le: 1, count: 50 },
        { le: 5, count: 50 },
        { le: 10, count: 50 },
        { le: Number.POSITIVE_INFINITY, count: 50 },
      ],
      count: 50,
      sum: 10,
    };
    const d = histogramDelta(after, before);
    expect(d.count).toBe(50);
    expect(d.buckets.map((b) => b.count)).toEqual([0, 40, 50, 50]);
    expect(histogramQuantile(d, 0.5)).toBe(3.5); // rank 25: 1 + 4 * 25 / 40
  });
});
