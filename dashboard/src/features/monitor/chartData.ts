import type { LatencyPoint } from "../../api/types";

/**
 * Latency series in uPlot's column layout: shared x values in seconds, then one column per
 * region.
 */
export interface LatencyChartData {
  regions: string[];
  /** [x seconds, region 1 p50 ms, region 2 p50 ms, …]; null where a region has no bucket. */
  columns: [number[], ...(number | null)[][]];
}

/**
 * Aligns bucketed latency points of several regions on one time axis, taking the p50 of each
 * bucket. Regions are sorted by name so colours stay stable between refreshes.
 */
export function toChartData(points: readonly LatencyPoint[]): LatencyChartData {
  const regions = [...new Set(points.map((point) => point.region))].sort((a, b) =>
    a.localeCompare(b),
  );
  const times = [...new Set(points.map((point) => Date.parse(point.t) / 1000))]
    .filter((seconds) => Number.isFinite(seconds))
    .sort((a, b) => a - b);

  const timeIndex = new Map(times.map((seconds, index) => [seconds, index]));
  const regionIndex = new Map(regions.map((region, index) => [region, index]));
  const series = regions.map(() => new Array<number | null>(times.length).fill(null));

  for (const point of points) {
    const column = timeIndex.get(Date.parse(point.t) / 1000);
    const row = regionIndex.get(point.region);
    if (column === undefined || row === undefined) continue;
    series[row][column] = point.p50;
  }

  return { regions, columns: [times, ...series] };
}
