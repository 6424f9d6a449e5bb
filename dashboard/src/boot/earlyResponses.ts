// Requests started while the dashboard's code is still loading, so the first screen's data is on
// its way at once. The API client's first matching GET takes the response instead of sending its
// own request.
import { buildUrl } from "../api/client";
import type { StoredTokens } from "../api/tokens";
import { firstScreenRequests, parseMonitorPageAddress } from "../features/monitor/pageAddress";

/** Age after which an unused early response is dropped rather than served as current data. */
const MAX_AGE_MS = 10_000;

interface EarlyResponse {
  response: Promise<Response>;
  authorization: string;
  startedAt: number;
}

export class EarlyResponses {
  private readonly entries = new Map<string, EarlyResponse>();
  private readonly fetchFn: typeof fetch;

  constructor(fetchFn: typeof fetch = (input, init) => globalThis.fetch(input, init)) {
    this.fetchFn = fetchFn;
  }

  /** Sends a GET now and keeps its response for the first matching `fetch` call. */
  start(url: string, headers: Record<string, string>): void {
    this.entries.set(url, {
      response: this.fetchFn(url, { method: "GET", headers }),
      authorization: headers.Authorization ?? "",
      startedAt: Date.now(),
    });
  }

  /**
   * A fetch function that serves a GET with the same URL and Authorization header as an early
   * request from that request's response, once. Every other call is sent as usual.
   */
  readonly fetch: typeof fetch = (input, init) => {
    const url = String(input);
    const entry = this.entries.get(url);
    const method = init?.method ?? "GET";
    if (entry && method === "GET") {
      this.entries.delete(url);
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const isCurrent = Date.now() - entry.startedAt <= MAX_AGE_MS;
      if (isCurrent && headers.Authorization === entry.authorization) return entry.response;
    }
    return this.fetchFn(input, init);
  };
}

/**
 * Starts the first screen's requests of the page at `location`, with the headers the API client
 * would send. Only the monitor page has such requests, and nothing starts when signed out.
 */
export function startFirstRequests(
  early: EarlyResponses,
  location: { pathname: string; search: string },
  tokens: StoredTokens | null,
  organizationId: string | null,
  baseUrl = "/api/v1",
): void {
  const address = parseMonitorPageAddress(location.pathname, location.search);
  if (!address || !tokens) return;

  const headers: Record<string, string> = {
    Accept: "application/json",
    Authorization: `Bearer ${tokens.accessToken}`,
  };
  if (organizationId) headers["X-Organization-Id"] = organizationId;
  for (const request of firstScreenRequests(address)) {
    early.start(buildUrl(baseUrl, request.path, request.query), headers);
  }
}
