import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import { MemoryTokenStore } from "../api/tokens";
import { prefetchForLocation } from "../routePrefetch";
import { makeMonitor } from "../test/fixtures";
import { createFakeFetch, jsonResponse } from "../test/fakeFetch";
import { EarlyResponses, startFirstRequests } from "./earlyResponses";

const TOKENS = { accessToken: "access", refreshToken: "refresh" };
const MONITOR_PAGE = { pathname: "/monitors/m1", search: "?window=30d" };

function setup() {
  const fake = createFakeFetch({
    "GET /api/v1/monitors/m1": () => jsonResponse(200, makeMonitor()),
    "GET /api/v1/monitors/m1/uptime": () => jsonResponse(200, {}),
    "GET /api/v1/monitors/m1/latency": () => jsonResponse(200, { points: [] }),
  });
  return { ...fake, early: new EarlyResponses(fake.fetch) };
}

describe("startFirstRequests", () => {
  it("requests the monitor page's first screen with the client's headers", () => {
    const { early, requests } = setup();

    startFirstRequests(early, MONITOR_PAGE, TOKENS, "o1");

    expect(requests.map((request) => request.path)).toEqual([
      "/api/v1/monitors/m1",
      "/api/v1/monitors/m1/uptime?window=30d",
      "/api/v1/monitors/m1/latency?window=30d",
    ]);
    expect(requests[0].headers).toEqual({
      Accept: "application/json",
      Authorization: "Bearer access",
      "X-Organization-Id": "o1",
    });
  });

  it("requests nothing when signed out", () => {
    const { early, requests } = setup();
    startFirstRequests(early, MONITOR_PAGE, null, null);
    expect(requests).toEqual([]);
  });

  it.each(["/", "/monitors/new", "/monitors/m1/edit"])("requests nothing on %s", (pathname) => {
    const { early, requests } = setup();
    startFirstRequests(early, { pathname, search: "" }, TOKENS, null);
    expect(requests).toEqual([]);
  });
});

describe("EarlyResponses.fetch", () => {
  it("serves a matching GET once from the early request", async () => {
    const { early, requests } = setup();
    early.start("/api/v1/monitors/m1", { Authorization: "Bearer access" });
    const init = { method: "GET", headers: { Authorization: "Bearer access" } };

    const first = await early.fetch("/api/v1/monitors/m1", init);
    const second = await early.fetch("/api/v1/monitors/m1", init);

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(requests).toHaveLength(2);
  });

  it("sends its own request for another access token", async () => {
    const { early, requests } = setup();
    early.start("/api/v1/monitors/m1", { Authorization: "Bearer old" });

    await early.fetch("/api/v1/monitors/m1", { headers: { Authorization: "Bearer new" } });

    expect(requests.map((request) => request.headers.Authorization)).toEqual([
      "Bearer old",
      "Bearer new",
    ]);
  });

  it("lets the API client's prefetch reuse every early request", async () => {
    const { early, requests } = setup();
    startFirstRequests(early, MONITOR_PAGE, TOKENS, null);
    const api = new ApiClient({ fetch: early.fetch, tokens: new MemoryTokenStore(TOKENS) });
    const queryClient = new QueryClient();

    prefetchForLocation(queryClient, api, MONITOR_PAGE);
    await queryClient.getQueryCache().find({ queryKey: ["monitors", "m1", "latency", "30d"] })
      ?.promise;

    expect(requests).toHaveLength(3);
    expect(queryClient.getQueryData(["monitors", "m1"])).toEqual(makeMonitor());
  });
});
