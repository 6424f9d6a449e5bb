import type { LatencyPoint } from "../../api/types";

export type Percentile = "p50" | "p95";

export const PERCENTILES: readonly Percentile[] = ["p50", "p95"];

/** One line of the latency chart: one percentile of one region. */
export interface LatencySeriesInfo {
  /** Stable id such as "eu-west p95", used for the legend and to remember hidden lines. */
  key: string;
  region: string;
  percentile: Percentile;
  /** Index of the region, which picks its colour. */
  regionIndex: number;
}

/**
 * Latency series in uPlot's column layout: shared x values in seconds, then one column per
 * entry of `series`, in the same order.
 */
export interface LatencyChartData {
  regions: string[];
  series: LatencySeriesInfo[];
  /** [x seconds, then latency in ms per series]; null where a region has no bucket. */
  columns: [number[], ...(number | null)[][]];
}

export function seriesKey(region: string, percentile: Percentile): string {
  return `${region} ${percentile}`;
}

/**
 * Aligns bucketed latency points of several regions on one time axis, with a p50 and a p95
 * column per region. Regions are sorted by name so colours stay stable between refreshes.
 */
export function toChartData(points: readonly LatencyPoint[]): LatencyChartData {
  const regions = [...new Set(points.map((point) => point.region))].sort((a, b) =>
    a.localeCompare(b),
  );
  const times = [...new Set(points.map((point) => Date.parse(point.t) / 1000))]
    .filter((seconds) => Number.isFinite(seconds))
    .sort((a, b) => a - b);

  const series = regions.flatMap((region, regionIndex) =>
    PERCENTILES.map((percentile) => ({
      key: seriesKey(region, percentile),
      region,
      percentile,
      regionIndex,
    })),
  );
  const timeIndex = new Map(times.map((seconds, index) => [seconds, index]));
  const regionIndex = new Map(regions.map((region, index) => [region, index]));
  const columns = series.map(() => new Array<number | null>(times.length).fill(null));

  for (const point of points) {
    const row = timeIndex.get(Date.parse(point.t) / 1000);
    const region = regionIndex.get(point.region);
    if (row === undefined || region === undefined) continue;
    PERCENTILES.forEach((percentile, offset) => {
      columns[region * PERCENTILES.length + offset][row] = point[percentile];
    });
  }

  return { regions, series, columns: [times, ...columns] };
}

/**
 * Value of a series at a row of the chart, or its latest value when `row` is null. Returns null
 * when the series has no value there.
 */
export function valueAt(data: LatencyChartData, seriesIndex: number, row: number | null) {
  const column = data.columns[seriesIndex + 1] as (number | null)[];
  if (row !== null) return column[row] ?? null;
  for (let index = column.length - 1; index >= 0; index -= 1) {
    if (column[index] !== null) return column[index];
  }
  return null;
}
