import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Uptime } from "../../api/types";
import { makeMonitor } from "../../test/fixtures";
import { createFakeFetch, jsonResponse } from "../../test/fakeFetch";
import { renderWithProviders } from "../../test/render";
import { MonitorDetail } from "./MonitorDetail";

const UPTIME: Uptime = {
  window: "24h",
  from: "2024-05-01T10:00:00Z",
  to: "2024-05-02T10:00:00Z",
  status: "up",
  uptime: 1,
  coverage: 1,
  latency_ms: { p50: 20, p95: 30, p99: 40, avg: 22 },
  regions: [],
};

describe("MonitorDetail", () => {
  it("requests incidents and results only after the first screen's data", async () => {
    let answerLatency: (response: Response) => void = () => undefined;
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/monitors/m1/uptime": () => jsonResponse(200, UPTIME),
      "GET /api/v1/monitors/m1/latency": () =>
        new Promise<Response>((resolve) => (answerLatency = resolve)),
      "GET /api/v1/incidents": () => jsonResponse(200, { items: [] }),
      "GET /api/v1/monitors/m1/results": () => jsonResponse(200, { items: [], next_cursor: null }),
    });
    const paths = () => requests.map((request) => request.path.split("?")[0]);
    renderWithProviders(<MonitorDetail monitor={makeMonitor()} />, {
      fetch,
      route: "/monitors/m1",
      tokens: { accessToken: "access", refreshToken: "refresh" },
    });

    await screen.findByRole("table", { name: /^Uptime per region/ });
    expect(paths()).toContain("/api/v1/monitors/m1/latency");
    expect(paths()).not.toContain("/api/v1/incidents");
    expect(paths()).not.toContain("/api/v1/monitors/m1/results");

    answerLatency(jsonResponse(200, { points: [] }));

    expect(await screen.findByText("No latency data in this window.")).toBeInTheDocument();
    await waitFor(() => expect(paths()).toContain("/api/v1/incidents"));
    expect(paths()).toContain("/api/v1/monitors/m1/results");
    expect(await screen.findByText("No incidents recorded.")).toBeInTheDocument();
  });
});
