import { describe, expect, it } from "vitest";
import { makeMonitor } from "../../test/fixtures";
import {
  DEFAULT_VALUES,
  mapApiFieldErrors,
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

describe("toMonitorUpdate", () => {
  it("leaves out the kind, which the API rejects on update", () => {
    const body = toMonitorUpdate(valid);
    expect(body).not.toHaveProperty("kind");
    expect(body.name).toBe("API");
    expect(body.url).toBe("https://api.example.com/health");
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
});
