import { describe, expect, it } from "vitest";
import type { LatencyPoint } from "../../api/types";
import { toChartData } from "./chartData";

function point(t: string, region: string, p50: number | null): LatencyPoint {
  return { t, region, p50, p95: p50, min: p50, max: p50, count: 1 };
}

describe("toChartData", () => {
  it("aligns regions on one time axis with gaps as null", () => {
    const data = toChartData([
      point("2024-05-01T10:01:00Z", "us-east", 80),
      point("2024-05-01T10:00:00Z", "eu-central", 20),
      point("2024-05-01T10:01:00Z", "eu-central", 25),
    ]);

    const t0 = Date.parse("2024-05-01T10:00:00Z") / 1000;
    expect(data.regions).toEqual(["eu-central", "us-east"]);
    expect(data.columns[0]).toEqual([t0, t0 + 60]);
    expect(data.columns[1]).toEqual([20, 25]);
    expect(data.columns[2]).toEqual([null, 80]);
  });

  it("returns empty columns for no points", () => {
    expect(toChartData([])).toEqual({ regions: [], columns: [[]] });
  });

  it("handles 30 days of one-minute points", () => {
    const start = Date.parse("2024-05-01T00:00:00Z");
    const points = Array.from({ length: 30 * 24 * 60 }, (_, index) =>
      point(new Date(start + index * 60_000).toISOString(), "eu-central", index % 100),
    );

    const data = toChartData(points);

    expect(data.columns[0]).toHaveLength(43_200);
    expect(data.columns[1][43_199]).toBe(43_199 % 100);
  });
});
