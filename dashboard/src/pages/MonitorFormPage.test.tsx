import { QueryClient } from "@tanstack/react-query";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { describe, expect, it } from "vitest";
import type { CheckRun, Monitor, MonitorUpdate } from "../api/types";
import { makeMonitor } from "../test/fixtures";
import { queryKeys } from "../api/hooks/keys";
import { createFakeFetch, jsonResponse, type Handler } from "../test/fakeFetch";
import { renderWithProviders } from "../test/render";
import { MonitorFormPage } from "./MonitorFormPage";

const TOKENS = { accessToken: "access", refreshToken: "refresh" };
const REGIONS = {
  items: [
    { name: "eu-central", agents_live: 1, agents_total: 1, has_coverage: true },
    { name: "us-east", agents_live: 1, agents_total: 1, has_coverage: true },
  ],
};

const SAVED = makeMonitor({
  id: "m1",
  options: {
    method: "POST",
    headers: { "X-Api-Key": "k-123" },
    body: '{"ping": true}',
    keyword: "ok",
    expected_status: [200, "300-399"],
  },
});

const RUN: CheckRun = {
  results: [
    {
      region: "us-east",
      agent_id: "a2",
      status: "down",
      latency_ms: 2003.5,
      status_code: null,
      error_class: "timeout",
      error_message: "no response within 2 s",
      phases: {
        dns_ms: 1.5,
        connect_ms: null,
        tls_ms: null,
        first_byte_ms: null,
        transfer_ms: null,
      },
      started_at: "2024-05-01T10:00:00Z",
    },
    {
      region: "eu-central",
      agent_id: "a1",
      status: "up",
      latency_ms: 41.2,
      status_code: 200,
      error_class: null,
      error_message: null,
      phases: {
        dns_ms: 2,
        connect_ms: 5,
        tls_ms: 12,
        first_byte_ms: 20,
        transfer_ms: 2.2,
      },
      started_at: "2024-05-01T10:00:00Z",
    },
  ],
  missing: [{ region: "ap-south", reason: "no_coverage" }],
};

function renderPage(route: string, routes: Record<string, Handler>, queryClient?: QueryClient) {
  const fake = createFakeFetch({
    "GET /api/v1/regions": () => jsonResponse(200, REGIONS),
    "GET /api/v1/channels": () => jsonResponse(200, { items: [] }),
    ...routes,
  });
  renderWithProviders(
    <Routes>
      <Route path="/monitors/new" element={<MonitorFormPage />} />
      <Route path="/monitors/:monitorId/edit" element={<MonitorFormPage />} />
      <Route path="/monitors/:monitorId" element={<p>Monitor page</p>} />
    </Routes>,
    { fetch: fake.fetch, route, tokens: TOKENS, queryClient },
  );
  return fake;
}

function editRoutes(monitor: Monitor, extra: Record<string, Handler> = {}) {
  return {
    [`GET /api/v1/monitors/${monitor.id}`]: () => jsonResponse(200, monitor),
    [`PATCH /api/v1/monitors/${monitor.id}`]: () => jsonResponse(200, monitor),
    ...extra,
  };
}

describe("MonitorFormPage editing", () => {
  it("keeps options the form does not show", async () => {
    const { requests } = renderPage("/monitors/m1/edit", editRoutes(SAVED));
    const keyword = await screen.findByRole("textbox", { name: /^Keyword/ });

    await userEvent.clear(keyword);
    await userEvent.type(keyword, "healthy");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await screen.findByText("Monitor page");

    const patch = requests.find((request) => request.method === "PATCH");
    const body = patch?.body as MonitorUpdate;
    expect(body.options?.method).toBe("POST");
    expect(body.options?.headers).toEqual({ "X-Api-Key": "k-123" });
    expect(body.options?.body).toBe('{"ping": true}');
    expect(body.options?.expected_status).toEqual([200, "300-399"]);
    expect(body.options?.keyword).toBe("healthy");
  });

  it("starts from a reloaded monitor, not an older cached copy", async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    queryClient.setQueryData(queryKeys.monitor("m1"), makeMonitor({ id: "m1", options: {} }));
    const { requests } = renderPage("/monitors/m1/edit", editRoutes(SAVED), queryClient);
    const keyword = await screen.findByRole("textbox", { name: /^Keyword/ });

    expect(keyword).toHaveValue("ok");
    await userEvent.type(keyword, "!");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await screen.findByText("Monitor page");

    const patch = requests.find((request) => request.method === "PATCH");
    expect((patch?.body as MonitorUpdate).options?.headers).toEqual({ "X-Api-Key": "k-123" });
  });

  it("sends only the changed fields", async () => {
    const { requests } = renderPage("/monitors/m1/edit", editRoutes(SAVED));
    const name = await screen.findByRole("textbox", { name: /^Name/ });

    await userEvent.clear(name);
    await userEvent.type(name, "Checkout API");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await screen.findByText("Monitor page");

    const patch = requests.find((request) => request.method === "PATCH");
    expect(patch?.body).toEqual({ name: "Checkout API" });
  });
});

describe("MonitorFormPage gRPC TLS", () => {
  const grpc = makeMonitor({
    id: "g1",
    kind: "grpc",
    url: null,
    target: "grpc.internal:443",
    options: { service: "billing" },
  });

  it("turns TLS on with one switch and sends a valid pair", async () => {
    const { requests } = renderPage("/monitors/g1/edit", editRoutes(grpc));

    expect(await screen.findByRole("switch", { name: "Use TLS" })).not.toBeChecked();
    expect(screen.queryByRole("switch", { name: "Verify TLS certificate" })).toBeNull();
    await userEvent.click(screen.getByRole("switch", { name: "Use TLS" }));
    expect(screen.getByRole("switch", { name: "Verify TLS certificate" })).toBeChecked();
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await screen.findByText("Monitor page");

    const patch = requests.find((request) => request.method === "PATCH");
    expect((patch?.body as MonitorUpdate).options).toEqual({
      service: "billing",
      tls: true,
      verify_tls: true,
    });
  });

  it("shows an API error on the TLS options at the switch", async () => {
    const reject: Handler = () =>
      jsonResponse(422, {
        title: "Invalid input",
        status: 422,
        detail: "invalid options",
        errors: [{ field: "options.verify_tls", message: "needs tls set to true" }],
      });
    renderPage("/monitors/g1/edit", editRoutes(grpc, { "PATCH /api/v1/monitors/g1": reject }));

    await userEvent.click(await screen.findByRole("switch", { name: "Use TLS" }));
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));

    const message = await screen.findByText("needs tls set to true");
    const field = message.closest(".MuiFormControl-root") as HTMLElement;
    expect(
      within(field).getByRole("switch", { name: "Verify TLS certificate" }),
    ).toBeInTheDocument();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("MonitorFormPage test now", () => {
  it("tests the saved monitor while the form is unchanged", async () => {
    const { requests } = renderPage(
      "/monitors/m1/edit",
      editRoutes(SAVED, { "POST /api/v1/monitors/m1/test": () => jsonResponse(200, RUN) }),
    );

    await userEvent.click(await screen.findByRole("button", { name: "Test now" }));

    const table = await screen.findByRole("table", { name: "Test results per region" });
    const rows = within(table).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("eu-central");
    expect(rows[1]).toHaveTextContent("41.2 ms");
    expect(rows[1]).toHaveTextContent("TLS 12.0 ms");
    expect(rows[2]).toHaveTextContent("us-east");
    expect(rows[2]).toHaveTextContent("timeout: no response within 2 s");
    const missing = screen.getByRole("list", { name: "Regions without a result" });
    expect(missing).toHaveTextContent("ap-south");
    expect(missing).toHaveTextContent("No live agent in this region");
    expect(screen.getByText(/Tested the saved monitor/)).toBeInTheDocument();
    expect(requests.some((request) => request.path === "/api/v1/monitors/test")).toBe(false);
  });

  it("tests the edited settings as a draft with the saved options", async () => {
    const { requests } = renderPage(
      "/monitors/m1/edit",
      editRoutes(SAVED, { "POST /api/v1/monitors/test": () => jsonResponse(200, RUN) }),
    );
    const timeout = await screen.findByRole("spinbutton", { name: /^Timeout/ });

    await userEvent.clear(timeout);
    await userEvent.type(timeout, "3");
    await userEvent.click(screen.getByRole("button", { name: "Test now" }));
    await screen.findByRole("table", { name: "Test results per region" });

    const draft = requests.find((request) => request.path === "/api/v1/monitors/test");
    expect(draft?.body).toMatchObject({
      kind: "http",
      url: SAVED.url,
      timeout_seconds: 3,
      options: { method: "POST", headers: { "X-Api-Key": "k-123" } },
    });
    expect(screen.getByText(/not saved yet/)).toBeInTheDocument();
  });

  it("shows progress until the run answers", async () => {
    let answer: (response: Response) => void = () => undefined;
    renderPage("/monitors/new", {
      "POST /api/v1/monitors/test": () => new Promise<Response>((resolve) => (answer = resolve)),
    });

    await userEvent.type(await screen.findByRole("textbox", { name: /^Name/ }), "Home");
    await userEvent.type(screen.getByRole("textbox", { name: /^URL/ }), "https://example.com");
    await userEvent.click(screen.getByRole("combobox", { name: /^Regions/ }));
    await userEvent.click(await screen.findByRole("option", { name: "eu-central" }));
    await userEvent.click(screen.getByRole("button", { name: "Test now" }));

    expect(await screen.findByRole("progressbar", { name: "Test run progress" })).toBeVisible();
    expect(screen.getByText(/of at most 15 s/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Testing…" })).toBeDisabled();

    answer(jsonResponse(200, RUN));

    expect(await screen.findByRole("table", { name: "Test results per region" })).toBeVisible();
    expect(screen.queryByRole("progressbar", { name: "Test run progress" })).toBeNull();
  });

  it("shows draft validation errors at the field", async () => {
    renderPage("/monitors/new", {
      "POST /api/v1/monitors/test": () =>
        jsonResponse(422, {
          title: "Invalid input",
          status: 422,
          detail: "url: resolves to a private address",
          errors: [{ field: "url", message: "resolves to a private address" }],
        }),
    });

    await userEvent.type(await screen.findByRole("textbox", { name: /^Name/ }), "Home");
    await userEvent.type(screen.getByRole("textbox", { name: /^URL/ }), "https://example.com");
    await userEvent.click(screen.getByRole("combobox", { name: /^Regions/ }));
    await userEvent.click(await screen.findByRole("option", { name: "eu-central" }));
    await userEvent.click(screen.getByRole("button", { name: "Test now" }));

    expect(await screen.findByText("resolves to a private address")).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: /^URL/ })).toHaveAttribute("aria-invalid", "true");
  });

  it("waits out a rate limit before the next run", async () => {
    renderPage(
      "/monitors/m1/edit",
      editRoutes(SAVED, {
        "POST /api/v1/monitors/m1/test": () =>
          jsonResponse(
            429,
            { title: "Too many requests", status: 429, detail: "at most 10 test runs per 60 s" },
            { "Retry-After": "30" },
          ),
      }),
    );

    await userEvent.click(await screen.findByRole("button", { name: "Test now" }));

    expect(await screen.findByText(/Too many test runs in this organisation/)).toBeInTheDocument();
    // Retry-After was 30 s, and the countdown may have ticked once on a slow machine.
    const countdown = screen.getByText(/You can test again in \d+ s/).textContent ?? "";
    const seconds = Number(/again in (\d+) s/.exec(countdown)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(30);
    await waitFor(() => expect(screen.getByRole("button", { name: "Test now" })).toBeDisabled());
  });
});
