import { describe, expect, it } from "vitest";
import type { Status } from "./api/types";
import { STATUS_LABELS } from "./lib/status";
import { STATUS_COLORS, statusColor } from "./theme";

const ALL_STATUSES = Object.keys(STATUS_LABELS) as Status[];

describe("status colours", () => {
  it("cover every status in both modes", () => {
    for (const status of ALL_STATUSES) {
      expect(statusColor(status, "light")).toMatch(/^#[0-9a-f]{6}$/);
      expect(statusColor(status, "dark")).toMatch(/^#[0-9a-f]{6}$/);
    }
  });

  it("give up, down and degraded distinct colours", () => {
    for (const mode of ["light", "dark"] as const) {
      const colors = new Set([
        STATUS_COLORS.up[mode],
        STATUS_COLORS.down[mode],
        STATUS_COLORS.degraded[mode],
      ]);
      expect(colors.size).toBe(3);
    }
  });

  it("has no entry beyond the known statuses", () => {
    expect(Object.keys(STATUS_COLORS).sort()).toEqual([...ALL_STATUSES].sort());
  });
});
