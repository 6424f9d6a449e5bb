import { describe, expect, it } from "vitest";
import { makeMonitor } from "../../test/fixtures";
import {
  DEFAULT_VALUES,
  mapApiFieldErrors,
  parseStatusCodes,
  toEditedDraft,
  toMonitorCreate,
  toMonitorUpdate,
  validateValues,
  valuesFromMonitor,
  type MonitorFormValues,
} from "./formValues";

const valid: MonitorFormValues = {
  ...DEFAULT_VALUES,
  name: " API ",
  address: "https://api.example.com/health",
  regions: ["eu-central"],
  expectedStatusCodes: "200, 204",
  keyword: "ok",
};

describe("validateValues", () => {
  it("accepts a complete HTTP monitor", () => {
    expect(validateValues(valid)).toEqual({});
  });

  it("requires name, address and a region", () => {
    const errors = validateValues({ ...DEFAULT_VALUES });
    expect(errors.name).toBeDefined();
    expect(errors.address).toBe("Enter a URL.");
    expect(errors.regions).toBeDefined();
  });

  it("rejects a URL without a scheme", () => {
    expect(validateValues({ ...valid, address: "example.com" }).address).toMatch(/http/);
  });

  it("requires host:port for TCP", () => {
    expect(validateValues({ ...valid, kind: "tcp", address: "db.internal" }).address).toMatch(
      /host:port/,
    );
    expect(validateValues({ ...valid, kind: "tcp", address: "db.internal:5432" })).toEqual({});
  });

  it("accepts a bare host name for DNS", () => {
    expect(validateValues({ ...valid, kind: "dns", address: "example.com" })).toEqual({});
  });

  it("rejects a timeout above the interval", () => {
    const errors = validateValues({ ...valid, intervalSeconds: "30", timeoutSeconds: "45" });
    expect(errors.timeoutSeconds).toMatch(/interval/);
  });

  it("rejects invalid status codes", () => {
    expect(
      validateValues({ ...valid, expectedStatusCodes: "200, abc" }).expectedStatusCodes,
    ).toBeDefined();
    expect(
      validateValues({ ...valid, expectedStatusCodes: "99" }).expectedStatusCodes,
    ).toBeDefined();
  });
});

describe("toMonitorCreate", () => {
  it("sends url and HTTP options for HTTP monitors", () => {
    const body = toMonitorCreate(valid);
    expect(body.name).toBe("API");
    expect(body.url).toBe("https://api.example.com/health");
    expect(body.target).toBeNull();
    expect(body.interval_seconds).toBe(60);
    expect(body.options).toEqual({
      follow_redirects: true,
      verify_tls: true,
      expected_status: [200, 204],
      keyword: "ok",
    });
  });

  it("sends target and no HTTP options for TCP monitors", () => {
    const body = toMonitorCreate({ ...valid, kind: "tcp", address: "db.internal:5432" });
    expect(body.url).toBeNull();
    expect(body.target).toBe("db.internal:5432");
    expect(body.options).toBeUndefined();
  });

  it("round-trips a stored monitor", () => {
    const monitor = makeMonitor({
      options: {
        expected_status: [301],
        keyword: "Welcome",
        follow_redirects: false,
        verify_tls: false,
      },
      tags: ["prod"],
    });
    const body = toMonitorCreate(valuesFromMonitor(monitor));
    expect(body.url).toBe(monitor.url);
    expect(body.tags).toEqual(["prod"]);
    expect(body.options).toEqual(monitor.options);
  });
});

describe("parseStatusCodes", () => {
  it("keeps codes as numbers and ranges as strings", () => {
    expect(parseStatusCodes("200, 204,300 - 399")).toEqual([200, 204, "300-399"]);
  });

  it("returns an empty list for empty text", () => {
    expect(parseStatusCodes(" , ")).toEqual([]);
  });

  it.each(["99", "600", "abc", "200-", "399-300", "2OO", "200-700"])("rejects %s", (text) => {
    expect(parseStatusCodes(text)).toBeNull();
  });
});

describe("toMonitorCreate for gRPC", () => {
  const grpc: MonitorFormValues = { ...valid, kind: "grpc", address: "grpc.internal:443" };

  it("sends tls false and no verify_tls without TLS", () => {
    const body = toMonitorCreate({ ...grpc, useTls: false, verifyTls: true });
    expect(body.options).toEqual({ tls: false });
  });

  it("sends tls true together with verify_tls", () => {
    expect(toMonitorCreate({ ...grpc, useTls: true, verifyTls: true }).options).toEqual({
      tls: true,
      verify_tls: true,
    });
    expect(toMonitorCreate({ ...grpc, useTls: true, verifyTls: false }).options).toEqual({
      tls: true,
      verify_tls: false,
    });
  });

  it("reads the TLS switch from stored options", () => {
    const monitor = makeMonitor({
      kind: "grpc",
      url: null,
      target: "grpc.internal:443",
      options: { tls: true, verify_tls: false },
    });
    const values = valuesFromMonitor(monitor);
    expect(values.useTls).toBe(true);
    expect(values.verifyTls).toBe(false);
  });
});

describe("toMonitorUpdate", () => {
  const saved = makeMonitor({
    options: {
      method: "POST",
      headers: { Authorization: "Bearer secret" },
      json_assertions: [{ path: "$.status", op: "eq", value: "ok" }],
      expected_status: ["200-299"],
      keyword: "ok",
      follow_redirects: false,
    },
    tags: ["prod"],
  });

  it("sends nothing when nothing changed", () => {
    expect(toMonitorUpdate(valuesFromMonitor(saved), saved)).toEqual({});
  });

  it("sends only the changed fields and never the kind", () => {
    const values = { ...valuesFromMonitor(saved), name: "API v2", intervalSeconds: "30" };
    expect(toMonitorUpdate(values, saved)).toEqual({ name: "API v2", interval_seconds: 30 });
  });

  it("keeps options the form does not show when an option changes", () => {
    const values = { ...valuesFromMonitor(saved), keyword: "healthy" };

    const body = toMonitorUpdate(values, saved);

    expect(body.options).toEqual({ ...saved.options, keyword: "healthy" });
    expect(body.options?.method).toBe("POST");
    expect(body.options?.headers).toEqual({ Authorization: "Bearer secret" });
    expect(body.options?.expected_status).toEqual(["200-299"]);
  });

  it("removes a cleared keyword and status list from the options", () => {
    const values = { ...valuesFromMonitor(saved), keyword: "", expectedStatusCodes: "" };

    const options = toMonitorUpdate(values, saved).options ?? {};

    expect(options).not.toHaveProperty("keyword");
    expect(options).not.toHaveProperty("expected_status");
    expect(options.method).toBe("POST");
  });

  it("sends the address as target for non-HTTP monitors", () => {
    const tcp = makeMonitor({ kind: "tcp", url: null, target: "db.internal:5432" });
    const values = { ...valuesFromMonitor(tcp), address: "db.internal:6432" };
    expect(toMonitorUpdate(values, tcp)).toEqual({ target: "db.internal:6432" });
  });

  it("compares regions as a set", () => {
    const values = { ...valuesFromMonitor(saved), regions: ["us-east", "eu-central"] };
    expect(toMonitorUpdate(values, saved)).toEqual({});
  });

  it("drops verify_tls when TLS is turned off for gRPC", () => {
    const grpc = makeMonitor({
      kind: "grpc",
      url: null,
      target: "grpc.internal:443",
      options: { tls: true, verify_tls: false, service: "billing" },
    });
    const values = { ...valuesFromMonitor(grpc), useTls: false };
    expect(toMonitorUpdate(values, grpc).options).toEqual({ tls: false, service: "billing" });
  });
});

describe("toEditedDraft", () => {
  it("merges the changes into the saved monitor as a create body", () => {
    const saved = makeMonitor({ options: { method: "HEAD", keyword: "ok" } });
    const values = { ...valuesFromMonitor(saved), timeoutSeconds: "5", keyword: "up" };

    const draft = toEditedDraft(values, saved);

    expect(draft.kind).toBe("http");
    expect(draft.name).toBe(saved.name);
    expect(draft.url).toBe(saved.url);
    expect(draft.timeout_seconds).toBe(5);
    expect(draft.regions).toEqual(saved.regions);
    expect(draft.options).toEqual({ method: "HEAD", keyword: "up" });
  });

  it("keeps the quorum, alerting and parent the form does not show", () => {
    const saved = makeMonitor({ quorum: 3, alerting: { down_after: 4 }, parent_id: "p-1" });

    const draft = toEditedDraft(valuesFromMonitor(saved), saved);

    expect(draft.quorum).toBe(3);
    expect(draft.alerting).toEqual({ down_after: 4 });
    expect(draft.parent_id).toBe("p-1");
  });
});

describe("mapApiFieldErrors", () => {
  it("maps API fields to form fields", () => {
    const { errors, rest } = mapApiFieldErrors({
      url: "must be an absolute URL",
      "options.keyword": "is too long",
      "regions.1": "is unknown",
      priority: "is not allowed",
    });
    expect(errors).toEqual({
      address: "must be an absolute URL",
      keyword: "is too long",
      regions: "is unknown",
    });
    expect(rest).toEqual(["priority: is not allowed"]);
  });

  it("maps the gRPC TLS options to their switches", () => {
    const { errors } = mapApiFieldErrors({
      "options.tls": "must be true when verify_tls is set",
      "options.verify_tls": "requires tls",
    });
    expect(errors).toEqual({
      useTls: "must be true when verify_tls is set",
      verifyTls: "requires tls",
    });
  });
});
