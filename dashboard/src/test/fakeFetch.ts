// Fake fetch for unit tests: each handler returns the response for one method and path.

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Handler = (request: RecordedRequest) => Response | Promise<Response>;

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function createFakeFetch(routes: Record<string, Handler>) {
  const requests: RecordedRequest[] = [];

  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), "http://127.0.0.1");
    const method = init?.method ?? "GET";
    const headers = { ...(init?.headers as Record<string, string> | undefined) };
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    const request = { method, path: url.pathname + url.search, headers, body };
    requests.push(request);

    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) return jsonResponse(404, { title: "Not Found", status: 404 });
    return handler(request);
  };

  return { fetch: fetchFn as typeof fetch, requests };
}
