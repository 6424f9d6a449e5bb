import { describe, expect, it } from "vitest";
import {
  floorUptimePercent,
  formatDuration,
  formatLatency,
  formatUptime,
  formatUtcTime,
} from "./format";

describe("formatUptime", () => {
  it.each([
    [0.999996, "99.999 %"],
    [0.99999, "99.999 %"],
    [0.9999899, "99.998 %"],
    [1, "100 %"],
    [0.5, "50.000 %"],
    [0.29, "29.000 %"],
    [0, "0.000 %"],
  ])("floors %s to %s", (fraction, expected) => {
    expect(formatUptime(fraction)).toBe(expected);
  });

  it("shows no data for null", () => {
    expect(formatUptime(null)).toBe("no data");
  });

  it("never shows 100 % below full uptime", () => {
    for (const fraction of [0.9999999, 0.99999999, 1 - Number.EPSILON]) {
      expect(formatUptime(fraction)).not.toBe("100 %");
    }
  });
});

describe("floorUptimePercent", () => {
  it("clamps values outside 0..1", () => {
    expect(floorUptimePercent(1.2)).toBe(100);
    expect(floorUptimePercent(-0.1)).toBe(0);
  });

  it("returns null for NaN", () => {
    expect(floorUptimePercent(Number.NaN)).toBeNull();
  });
});

describe("formatLatency", () => {
  it("picks a unit by size", () => {
    expect(formatLatency(null)).toBe("–");
    expect(formatLatency(12.345)).toBe("12.3 ms");
    expect(formatLatency(456.7)).toBe("457 ms");
    expect(formatLatency(12_500)).toBe("12.5 s");
  });
});

describe("formatUtcTime", () => {
  it("formats an ISO time in UTC", () => {
    expect(formatUtcTime("2024-05-01T12:34:56.789+02:00")).toBe("2024-05-01 10:34:56 UTC");
  });

  it("returns invalid input unchanged", () => {
    expect(formatUtcTime("not a time")).toBe("not a time");
  });
});

describe("formatDuration", () => {
  it("formats hours, minutes and seconds", () => {
    expect(formatDuration("2024-05-01T10:00:00Z", "2024-05-01T12:05:00Z")).toBe("2 h 5 min");
    expect(formatDuration("2024-05-01T10:00:00Z", "2024-05-01T10:03:07Z")).toBe("3 min 7 s");
    expect(formatDuration("2024-05-01T10:00:00Z", "2024-05-01T10:00:09Z")).toBe("9 s");
  });

  it("measures open incidents up to now", () => {
    const now = Date.parse("2024-05-01T10:01:00Z");
    expect(formatDuration("2024-05-01T10:00:00Z", null, now)).toBe("1 min 0 s");
  });
});
