import { describe, expect, it } from "vitest";
import type { LatencyPoint } from "../../api/types";
import { toChartData, valueAt } from "./chartData";

function point(t: string, region: string, p50: number | null, p95 = p50): LatencyPoint {
  return { t, region, p50, p95, min: p50, max: p95, count: 1 };
}

describe("toChartData", () => {
  it("aligns regions on one time axis with gaps as null", () => {
    const data = toChartData([
      point("2024-05-01T10:01:00Z", "us-east", 80, 120),
      point("2024-05-01T10:00:00Z", "eu-central", 20, 30),
      point("2024-05-01T10:01:00Z", "eu-central", 25, 40),
    ]);

    const t0 = Date.parse("2024-05-01T10:00:00Z") / 1000;
    expect(data.regions).toEqual(["eu-central", "us-east"]);
    expect(data.columns[0]).toEqual([t0, t0 + 60]);
    expect(data.columns[1]).toEqual([20, 25]);
    expect(data.columns[2]).toEqual([30, 40]);
    expect(data.columns[3]).toEqual([null, 80]);
    expect(data.columns[4]).toEqual([null, 120]);
  });

  it("describes a p50 and a p95 series per region", () => {
    const data = toChartData([
      point("2024-05-01T10:00:00Z", "us-east", 80),
      point("2024-05-01T10:00:00Z", "eu-central", 20),
    ]);
    expect(data.series).toEqual([
      { key: "eu-central p50", region: "eu-central", percentile: "p50", regionIndex: 0 },
      { key: "eu-central p95", region: "eu-central", percentile: "p95", regionIndex: 0 },
      { key: "us-east p50", region: "us-east", percentile: "p50", regionIndex: 1 },
      { key: "us-east p95", region: "us-east", percentile: "p95", regionIndex: 1 },
    ]);
  });

  it("returns empty columns for no points", () => {
    expect(toChartData([])).toEqual({ regions: [], series: [], columns: [[]] });
  });

  it("handles 30 days of one-minute points", () => {
    const start = Date.parse("2024-05-01T00:00:00Z");
    const points = Array.from({ length: 30 * 24 * 60 }, (_, index) =>
      point(new Date(start + index * 60_000).toISOString(), "eu-central", index % 100),
    );

    const data = toChartData(points);

    expect(data.columns[0]).toHaveLength(43_200);
    expect(data.columns[1][43_199]).toBe(43_199 % 100);
    expect(data.columns[2][43_199]).toBe(43_199 % 100);
  });
});

describe("valueAt", () => {
  const data = toChartData([
    point("2024-05-01T10:00:00Z", "eu-central", 20, 30),
    point("2024-05-01T10:01:00Z", "eu-central", 25, 40),
    point("2024-05-01T10:02:00Z", "us-east", 90, 95),
  ]);

  it("reads the value at a row", () => {
    expect(valueAt(data, 1, 1)).toBe(40);
    expect(valueAt(data, 0, 2)).toBeNull();
  });

  it("falls back to the latest value without a row", () => {
    expect(valueAt(data, 0, null)).toBe(25);
    expect(valueAt(data, 3, null)).toBe(95);
  });
});
