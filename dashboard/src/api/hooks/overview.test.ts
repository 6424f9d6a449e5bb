import { describe, expect, it } from "vitest";
import { createFakeFetch, jsonResponse } from "../../test/fakeFetch";
import { ApiClient } from "../client";
import { MemoryTokenStore } from "../tokens";
import { fetchOverview } from "./overview";

function overviewServer() {
  let version = 1;
  const { fetch, requests } = createFakeFetch({
    "GET /api/v1/overview": (request) => {
      const etag = `"v${version}"`;
      if (request.headers["If-None-Match"] === etag) return new Response(null, { status: 304 });
      return jsonResponse(200, { items: [{ version }] }, { ETag: etag });
    },
  });
  const client = new ApiClient({
    fetch,
    tokens: new MemoryTokenStore({ accessToken: "a", refreshToken: "r" }),
  });
  return { client, requests, bump: () => (version += 1) };
}

describe("fetchOverview", () => {
  it("keeps the cached overview on 304", async () => {
    const { client } = overviewServer();

    const first = await fetchOverview(client, undefined);
    const second = await fetchOverview(client, first);

    expect(second).toBe(first);
  });

  it("replaces the overview when the ETag changes", async () => {
    const { client, bump } = overviewServer();

    const first = await fetchOverview(client, undefined);
    bump();
    const second = await fetchOverview(client, first);

    expect(second.etag).toBe('"v2"');
    expect(second.overview).toEqual({ items: [{ version: 2 }] });
  });

  it("sends the cached ETag", async () => {
    const { client, requests } = overviewServer();

    const first = await fetchOverview(client, undefined);
    await fetchOverview(client, first);

    expect(requests[1].headers["If-None-Match"]).toBe('"v1"');
  });
});
