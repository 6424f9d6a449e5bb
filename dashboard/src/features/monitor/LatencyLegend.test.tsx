import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { LatencyPoint } from "../../api/types";
import { toChartData } from "./chartData";
import { LatencyLegend } from "./LatencyLegend";

function point(t: string, region: string, p50: number, p95: number): LatencyPoint {
  return { t, region, p50, p95, min: p50, max: p95, count: 1 };
}

const data = toChartData([
  point("2024-05-01T10:00:00Z", "eu-west", 20, 30),
  point("2024-05-01T10:01:00Z", "eu-west", 25, 45),
  point("2024-05-01T10:00:00Z", "us-east", 80, 120),
]);

describe("LatencyLegend", () => {
  it("shows a p50 and a p95 button per region with the latest values", () => {
    render(<LatencyLegend data={data} hidden={new Set()} row={null} onToggle={vi.fn()} />);

    const euWest = screen.getByRole("group", { name: "eu-west latency" });
    expect(within(euWest).getByRole("button", { name: "eu-west p50: 25.0 ms" })).toBeVisible();
    expect(within(euWest).getByRole("button", { name: "eu-west p95: 45.0 ms" })).toBeVisible();
    const usEast = screen.getByRole("group", { name: "us-east latency" });
    expect(within(usEast).getByRole("button", { name: "us-east p95: 120 ms" })).toBeVisible();
  });

  it("shows the values of the row under the cursor", () => {
    render(<LatencyLegend data={data} hidden={new Set()} row={0} onToggle={vi.fn()} />);

    expect(screen.getByRole("button", { name: "eu-west p50: 20.0 ms" })).toBeVisible();
    expect(screen.getByRole("button", { name: "eu-west p95: 30.0 ms" })).toBeVisible();
  });

  it("marks hidden lines as not pressed and reports clicks", async () => {
    const onToggle = vi.fn();
    render(
      <LatencyLegend
        data={data}
        hidden={new Set(["us-east p95"])}
        row={null}
        onToggle={onToggle}
      />,
    );

    const hidden = screen.getByRole("button", { name: /^us-east p95/ });
    expect(hidden).toHaveAttribute("aria-pressed", "false");
    expect(screen.getByRole("button", { name: /^us-east p50/ })).toHaveAttribute(
      "aria-pressed",
      "true",
    );

    await userEvent.click(hidden);
    expect(onToggle).toHaveBeenCalledWith("us-east p95");
  });
});
