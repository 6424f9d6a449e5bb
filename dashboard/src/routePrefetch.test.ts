import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { ApiClient } from "./api/client";
import { MemoryTokenStore } from "./api/tokens";
import { makeMonitor } from "./test/fixtures";
import { createFakeFetch, jsonResponse } from "./test/fakeFetch";
import { prefetchForLocation } from "./routePrefetch";

function setup(isSignedIn = true) {
  const fake = createFakeFetch({
    "GET /api/v1/monitors/m1": () => jsonResponse(200, makeMonitor()),
    "GET /api/v1/monitors/m1/uptime": () => jsonResponse(200, {}),
    "GET /api/v1/monitors/m1/latency": () => jsonResponse(200, { points: [] }),
  });
  const tokens = new MemoryTokenStore(
    isSignedIn ? { accessToken: "access", refreshToken: "refresh" } : null,
  );
  const api = new ApiClient({ fetch: fake.fetch, tokens });
  return { ...fake, api, queryClient: new QueryClient() };
}

describe("prefetchForLocation", () => {
  it("requests the monitor page's first screen", () => {
    const { api, queryClient, requests } = setup();

    prefetchForLocation(queryClient, api, { pathname: "/monitors/m1", search: "?window=30d" });

    expect(requests.map((request) => request.path)).toEqual([
      "/api/v1/monitors/m1",
      "/api/v1/monitors/m1/uptime?window=30d",
      "/api/v1/monitors/m1/latency?window=30d",
    ]);
  });

  it("uses the default window for an unknown one", () => {
    const { api, queryClient, requests } = setup();
    prefetchForLocation(queryClient, api, { pathname: "/monitors/m1", search: "?window=2y" });
    expect(requests.map((request) => request.path)).toContain(
      "/api/v1/monitors/m1/latency?window=24h",
    );
  });

  it.each(["/", "/monitors/new", "/monitors/m1/edit", "/channels"])(
    "requests nothing on %s",
    (pathname) => {
      const { api, queryClient, requests } = setup();
      prefetchForLocation(queryClient, api, { pathname, search: "" });
      expect(requests).toEqual([]);
    },
  );

  it("requests nothing when signed out", () => {
    const { api, queryClient, requests } = setup(false);
    prefetchForLocation(queryClient, api, { pathname: "/monitors/m1", search: "" });
    expect(requests).toEqual([]);
  });
});
