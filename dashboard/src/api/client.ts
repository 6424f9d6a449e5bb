import { ApiError, networkProblem, parseProblem, parseRetryAfter } from "./problem";
import { toStoredTokens, type TokenStore } from "./tokens";
import type { TokenPair } from "./types";

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, QueryValue>;
  /** Sends no Authorization header and skips the refresh-on-401 step (login, register). */
  anonymous?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

type RefreshOutcome = "renewed" | "rejected" | "unreachable";

export type ConditionalResult<T> =
  { notModified: true } | { notModified: false; data: T; etag: string | null };

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  tokens: TokenStore;
  /** Organisation to act in, sent as X-Organization-Id; null means the user's first one. */
  organizationId?: () => string | null;
}

export function buildUrl(
  baseUrl: string,
  path: string,
  query?: Record<string, QueryValue>,
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const search = params.toString();
  return `${baseUrl}${path}${search ? `?${search}` : ""}`;
}

/**
 * Typed client for /api/v1. On a 401 it refreshes the access token once (one refresh shared by
 * all requests that failed together) and retries the request once with the new token.
 */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly tokens: TokenStore;
  private readonly organizationId: () => string | null;
  private readonly sessionListeners = new Set<() => void>();
  private refreshInFlight: Promise<RefreshOutcome> | null = null;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl ?? "/api/v1";
    // Bind so that the browser's fetch is not called with the client as `this`.
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.tokens = options.tokens;
    this.organizationId = options.organizationId ?? (() => null);
  }

  /**
   * Registers a listener called when the session cannot be renewed, after the tokens are
   * cleared. Returns the function that removes it.
   */
  subscribeSessionExpired(listener: () => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  get isSignedIn(): boolean {
    return this.tokens.get() !== null;
  }

  async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (!response.ok) throw await this.toError(response);
    return (await readBody(response)) as T;
  }

  get<T>(path: string, query?: Record<string, QueryValue>, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { query, signal });
  }

  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>("POST", path, { body, signal });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body });
  }

  delete(path: string): Promise<void> {
    return this.request<void>("DELETE", path);
  }

  /** GET with If-None-Match: a 304 reports `notModified` so the caller keeps its cached data. */
  async getConditional<T>(
    path: string,
    etag: string | null,
    signal?: AbortSignal,
  ): Promise<ConditionalResult<T>> {
    const headers: Record<string, string> = etag ? { "If-None-Match": etag } : {};
    const response = await this.send("GET", path, { headers, signal });
    if (response.status === 304) return { notModified: true };
    if (!response.ok) throw await this.toError(response);

    const data = (await readBody(response)) as T;
    return { notModified: false, data, etag: response.headers.get("ETag") };
  }

  async login(email: string, password: string): Promise<void> {
    const pair = await this.request<TokenPair>("POST", "/auth/login", {
      body: { email, password },
      anonymous: true,
    });
    this.tokens.set(toStoredTokens(pair));
  }

  /** Clears both tokens locally, then asks the server to revoke the refresh token (best effort). */
  async logout(): Promise<void> {
    const current = this.tokens.get();
    this.tokens.clear();
    if (!current) return;
    try {
      await this.request<void>("POST", "/auth/logout", {
        body: { refresh_token: current.refreshToken },
        anonymous: true,
      });
    } catch {
      // The local sign-out already happened; an expired or unknown token needs no revoking.
    }
  }

  private async send(method: Method, path: string, options: RequestOptions): Promise<Response> {
    const sentToken = options.anonymous ? null : (this.tokens.get()?.accessToken ?? null);
    const response = await this.fetchOnce(method, path, options, sentToken);
    if (response.status !== 401 || options.anonymous || sentToken === null) return response;

    // Another request may already have renewed the token while this one was in flight.
    const currentToken = this.tokens.get()?.accessToken ?? null;
    const renewed = currentToken !== null && currentToken !== sentToken;
    if (!renewed) {
      const outcome = await this.refreshShared();
      if (outcome === "unreachable") return response;
      if (outcome === "rejected") {
        this.expireSession();
        return response;
      }
    }

    const retryToken = this.tokens.get()?.accessToken ?? null;
    const retried = await this.fetchOnce(method, path, options, retryToken);
    if (retried.status === 401) this.expireSession();
    return retried;
  }

  private async fetchOnce(
    method: Method,
    path: string,
    options: RequestOptions,
    accessToken: string | null,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
    const organizationId = this.organizationId();
    if (organizationId && !options.anonymous) headers["X-Organization-Id"] = organizationId;

    try {
      return await this.fetchFn(buildUrl(this.baseUrl, path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
      throw new ApiError(networkProblem(cause));
    }
  }

  private refreshShared(): Promise<RefreshOutcome> {
    if (!this.refreshInFlight) {
      this.refreshInFlight = this.refresh().finally(() => {
        this.refreshInFlight = null;
      });
    }
    return this.refreshInFlight;
  }

  private async refresh(): Promise<RefreshOutcome> {
    const current = this.tokens.get();
    if (!current) return "rejected";

    let response: Response;
    try {
      response = await this.fetchOnce(
        "POST",
        "/auth/refresh",
        { body: { refresh_token: current.refreshToken }, anonymous: true },
        null,
      );
    } catch {
      // Offline is not an expired session: keep the tokens and let the request fail.
      return "unreachable";
    }
    if (response.status >= 500) return "unreachable";
    if (!response.ok) return "rejected";

    // Refresh tokens rotate, so the new pair replaces the old one at once.
    const pair = (await readBody(response)) as TokenPair;
    this.tokens.set(toStoredTokens(pair));
    return "renewed";
  }

  private expireSession(): void {
    if (!this.tokens.get()) return;
    this.tokens.clear();
    for (const listener of this.sessionListeners) listener();
  }

  private async toError(response: Response): Promise<ApiError> {
    let body: unknown = null;
    try {
      body = await readBody(response);
    } catch {
      // A body that is not JSON still gets a message from the status code.
    }
    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
    return new ApiError(parseProblem(response.status, body), retryAfter);
  }
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  if (text === "") return undefined;
  return JSON.parse(text) as unknown;
}
