import { describe, expect, it } from "vitest";
import { shapeSparkline } from "./sparkline";

describe("shapeSparkline", () => {
  it("draws one path for a series without gaps", () => {
    const shape = shapeSparkline([10, 20, 30], 100, 20, 0);
    expect(shape.paths).toEqual(["M0 20 L50 10 L100 0"]);
    expect(shape.dots).toEqual([]);
    expect(shape.min).toBe(10);
    expect(shape.max).toBe(30);
  });

  it("splits the line at nulls", () => {
    const shape = shapeSparkline([10, 20, null, 30, 10], 100, 20, 0);
    expect(shape.paths).toHaveLength(2);
    expect(shape.paths[0]).toBe("M0 20 L25 10");
    expect(shape.paths[1]).toBe("M75 0 L100 20");
  });

  it("draws isolated values as dots", () => {
    const shape = shapeSparkline([null, 15, null], 100, 20, 0);
    expect(shape.paths).toEqual([]);
    expect(shape.dots).toEqual([{ x: 50, y: 10 }]);
  });

  it("centres a flat series", () => {
    const shape = shapeSparkline([5, 5, 5], 100, 20);
    expect(shape.paths).toEqual(["M0 10 L50 10 L100 10"]);
  });

  it("returns nothing for an empty or all-null series", () => {
    expect(shapeSparkline([], 100, 20).paths).toEqual([]);
    const allNull = shapeSparkline([null, null], 100, 20);
    expect(allNull.paths).toEqual([]);
    expect(allNull.dots).toEqual([]);
    expect(allNull.min).toBeNull();
  });

  it("keeps the padding free", () => {
    const shape = shapeSparkline([0, 100], 10, 20, 2);
    expect(shape.paths).toEqual(["M0 18 L10 2"]);
  });
});
