import { describe, expect, it } from "vitest";
import type { CheckRun, CheckRunResult } from "../../api/types";
import { explainMissing, formatPhases, phaseTimings, shapeTestRun } from "./shape";

const NO_PHASES = {
  dns_ms: null,
  connect_ms: null,
  tls_ms: null,
  first_byte_ms: null,
  transfer_ms: null,
};

function result(region: string, overrides: Partial<CheckRunResult> = {}): CheckRunResult {
  return {
    region,
    agent_id: `agent-${region}`,
    status: "up",
    latency_ms: 40,
    status_code: 200,
    error_class: null,
    error_message: null,
    phases: NO_PHASES,
    started_at: "2024-05-01T10:00:00Z",
    ...overrides,
  };
}

describe("shapeTestRun", () => {
  it("sorts regions by name", () => {
    const view = shapeTestRun({
      results: [result("us-east"), result("ap-south"), result("eu-west")],
      missing: [],
    });
    expect(view.rows.map((row) => row.region)).toEqual(["ap-south", "eu-west", "us-east"]);
  });

  it("summarises a run where every region is up", () => {
    const view = shapeTestRun({ results: [result("eu-west"), result("us-east")], missing: [] });
    expect(view.summary).toBe("All 2 regions up.");
    expect(view.severity).toBe("success");
  });

  it("counts down, unknown and missing regions", () => {
    const run: CheckRun = {
      results: [
        result("eu-west"),
        result("us-east", { status: "down" }),
        result("ap-south", { status: "unknown" }),
      ],
      missing: [{ region: "sa-east", reason: "timed_out" }],
    };

    const view = shapeTestRun(run);

    expect(view.summary).toBe("1 of 4 up, 1 down, 1 unknown, 1 region without a result.");
    expect(view.severity).toBe("error");
  });

  it("warns when a region is missing but none is down", () => {
    const view = shapeTestRun({
      results: [result("eu-west")],
      missing: [{ region: "us-east", reason: "no_coverage" }],
    });
    expect(view.severity).toBe("warning");
    expect(view.missing).toEqual([
      {
        region: "us-east",
        reason: "no_coverage",
        explanation: "No live agent in this region can run the check.",
      },
    ]);
  });

  it("reports a run where no region answered", () => {
    const view = shapeTestRun({
      results: [],
      missing: [
        { region: "us-east", reason: "timed_out" },
        { region: "eu-west", reason: "no_coverage" },
      ],
    });
    expect(view.summary).toBe("No region returned a result.");
    expect(view.severity).toBe("error");
    expect(view.missing.map((entry) => entry.region)).toEqual(["eu-west", "us-east"]);
  });

  it("joins error class and message", () => {
    const view = shapeTestRun({
      results: [
        result("a", { status: "down", error_class: "status", error_message: "got 503" }),
        result("b", { status: "down", error_class: "connect", error_message: null }),
        result("c"),
      ],
      missing: [],
    });
    expect(view.rows.map((row) => row.error)).toEqual(["status: got 503", "connect", null]);
  });
});

describe("phaseTimings", () => {
  it("keeps timed phases in check order", () => {
    const timings = phaseTimings({
      dns_ms: 1.5,
      connect_ms: 3,
      tls_ms: null,
      first_byte_ms: 20,
      transfer_ms: 0,
    });
    expect(timings).toEqual([
      { label: "DNS", ms: 1.5 },
      { label: "Connect", ms: 3 },
      { label: "First byte", ms: 20 },
      { label: "Transfer", ms: 0 },
    ]);
    expect(formatPhases(timings)).toBe(
      "DNS 1.5 ms · Connect 3.0 ms · First byte 20.0 ms · Transfer 0.0 ms",
    );
  });

  it("returns no timings for missing phases", () => {
    expect(phaseTimings(null)).toEqual([]);
    expect(formatPhases(phaseTimings(NO_PHASES))).toBe("–");
  });
});

describe("explainMissing", () => {
  it("shows an unknown reason as it is", () => {
    expect(explainMissing("agent_busy")).toBe("No result (agent_busy).");
  });
});
