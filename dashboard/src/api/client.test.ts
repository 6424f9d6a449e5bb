import { describe, expect, it, vi } from "vitest";
import { createFakeFetch, jsonResponse, type RecordedRequest } from "../test/fakeFetch";
import { ApiClient } from "./client";
import { ApiError } from "./problem";
import { MemoryTokenStore } from "./tokens";

function tokenPair(suffix: string) {
  return {
    access_token: `access-${suffix}`,
    refresh_token: `refresh-${suffix}`,
    token_type: "bearer",
    expires_in: 900,
  };
}

/** Builds a /monitors handler that accepts only the given access token. */
function monitorsAccepting(token: string) {
  return (request: RecordedRequest) =>
    request.headers.Authorization === `Bearer ${token}`
      ? jsonResponse(200, { items: [], next_cursor: null })
      : jsonResponse(401, { title: "Token expired", status: 401 });
}

describe("ApiClient token refresh", () => {
  it("refreshes on 401 and retries once", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-old", refreshToken: "refresh-old" });
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/monitors": monitorsAccepting("access-new"),
      "POST /api/v1/auth/refresh": () => jsonResponse(200, tokenPair("new")),
    });
    const client = new ApiClient({ fetch, tokens });

    const page = await client.get<{ items: unknown[] }>("/monitors");

    expect(page.items).toEqual([]);
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /api/v1/monitors",
      "POST /api/v1/auth/refresh",
      "GET /api/v1/monitors",
    ]);
    expect(requests[1].body).toEqual({ refresh_token: "refresh-old" });
  });

  it("stores the rotated refresh token", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-old", refreshToken: "refresh-old" });
    const { fetch } = createFakeFetch({
      "GET /api/v1/monitors": monitorsAccepting("access-new"),
      "POST /api/v1/auth/refresh": () => jsonResponse(200, tokenPair("new")),
    });

    await new ApiClient({ fetch, tokens }).get("/monitors");

    expect(tokens.get()).toEqual({ accessToken: "access-new", refreshToken: "refresh-new" });
  });

  it("shares one refresh between concurrent requests", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-old", refreshToken: "refresh-old" });
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/monitors": monitorsAccepting("access-new"),
      "POST /api/v1/auth/refresh": () => jsonResponse(200, tokenPair("new")),
    });
    const client = new ApiClient({ fetch, tokens });

    await Promise.all([client.get("/monitors"), client.get("/monitors"), client.get("/monitors")]);

    const refreshes = requests.filter((request) => request.path === "/api/v1/auth/refresh");
    expect(refreshes).toHaveLength(1);
  });

  it("retries only once when the new token is rejected too", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-old", refreshToken: "refresh-old" });
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/monitors": monitorsAccepting("never"),
      "POST /api/v1/auth/refresh": () => jsonResponse(200, tokenPair("new")),
    });
    const onExpired = vi.fn();
    const client = new ApiClient({ fetch, tokens });
    client.subscribeSessionExpired(onExpired);

    await expect(client.get("/monitors")).rejects.toMatchObject({ status: 401 });

    expect(requests).toHaveLength(3);
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(tokens.get()).toBeNull();
  });

  it("expires the session when the refresh is rejected", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-old", refreshToken: "refresh-old" });
    const { fetch } = createFakeFetch({
      "GET /api/v1/monitors": monitorsAccepting("access-new"),
      "POST /api/v1/auth/refresh": () => jsonResponse(401, { title: "Refresh token revoked" }),
    });
    const onExpired = vi.fn();
    const client = new ApiClient({ fetch, tokens });
    client.subscribeSessionExpired(onExpired);

    await expect(client.get("/monitors")).rejects.toBeInstanceOf(ApiError);

    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(tokens.get()).toBeNull();
  });

  it("keeps the session when the refresh endpoint fails with 5xx", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-old", refreshToken: "refresh-old" });
    const { fetch } = createFakeFetch({
      "GET /api/v1/monitors": monitorsAccepting("access-new"),
      "POST /api/v1/auth/refresh": () => jsonResponse(503, { title: "Unavailable" }),
    });
    const onExpired = vi.fn();
    const client = new ApiClient({ fetch, tokens });
    client.subscribeSessionExpired(onExpired);

    await expect(client.get("/monitors")).rejects.toMatchObject({ status: 401 });

    expect(onExpired).not.toHaveBeenCalled();
    expect(tokens.get()?.refreshToken).toBe("refresh-old");
  });

  it("does not refresh for anonymous requests", async () => {
    const tokens = new MemoryTokenStore();
    const { fetch, requests } = createFakeFetch({
      "POST /api/v1/auth/login": () =>
        jsonResponse(401, { title: "Invalid credentials", detail: "Wrong email or password." }),
    });

    const client = new ApiClient({ fetch, tokens });
    await expect(client.login("a@example.com", "x")).rejects.toThrow("Wrong email or password.");

    expect(requests).toHaveLength(1);
  });
});

describe("ApiClient requests", () => {
  it("sends the bearer token and organisation header", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "access-1", refreshToken: "refresh-1" });
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/regions": () => jsonResponse(200, { items: [] }),
    });

    await new ApiClient({ fetch, tokens, organizationId: () => "org-2" }).get("/regions");

    expect(requests[0].headers.Authorization).toBe("Bearer access-1");
    expect(requests[0].headers["X-Organization-Id"]).toBe("org-2");
  });

  it("skips empty query parameters", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "a", refreshToken: "r" });
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/monitors/m1/results": () => jsonResponse(200, { items: [], next_cursor: null }),
    });

    await new ApiClient({ fetch, tokens }).get("/monitors/m1/results", {
      region: "",
      status: "down",
      cursor: null,
      limit: 50,
    });

    expect(requests[0].path).toBe("/api/v1/monitors/m1/results?status=down&limit=50");
  });

  it("stores tokens on login", async () => {
    const tokens = new MemoryTokenStore();
    const { fetch } = createFakeFetch({
      "POST /api/v1/auth/login": () => jsonResponse(200, tokenPair("1")),
    });

    await new ApiClient({ fetch, tokens }).login("a@example.com", "secret");

    expect(tokens.get()).toEqual({ accessToken: "access-1", refreshToken: "refresh-1" });
  });

  it("revokes the refresh token on logout", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "a", refreshToken: "r" });
    const { fetch, requests } = createFakeFetch({
      "POST /api/v1/auth/logout": () => new Response(null, { status: 204 }),
    });

    await new ApiClient({ fetch, tokens }).logout();

    expect(requests[0].body).toEqual({ refresh_token: "r" });
    expect(tokens.get()).toBeNull();
  });

  it("turns a network failure into an ApiError", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "a", refreshToken: "r" });
    const failingFetch = () => Promise.reject(new TypeError("Failed to fetch"));
    const client = new ApiClient({ fetch: failingFetch, tokens });

    await expect(client.get("/overview")).rejects.toMatchObject({ status: 0 });
  });

  it("reports 304 for an unchanged conditional GET", async () => {
    const tokens = new MemoryTokenStore({ accessToken: "a", refreshToken: "r" });
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/overview": (request) =>
        request.headers["If-None-Match"] === '"v1"'
          ? new Response(null, { status: 304 })
          : jsonResponse(200, { items: [] }, { ETag: '"v1"' }),
    });
    const client = new ApiClient({ fetch, tokens });

    const first = await client.getConditional("/overview", null);
    const second = await client.getConditional("/overview", '"v1"');

    expect(first).toEqual({ notModified: false, data: { items: [] }, etag: '"v1"' });
    expect(second).toEqual({ notModified: true });
    expect(requests[0].headers["If-None-Match"]).toBeUndefined();
  });
});
