// Turns the response of a "test now" run into rows and texts for the results panel.
import type { CheckRun, CheckRunMissingReason, CheckRunStatus, Phases } from "../../api/types";
import { formatLatency } from "../../lib/format";
import { PHASES } from "../../lib/phases";

export interface PhaseTiming {
  label: string;
  ms: number;
}

export interface TestRunRow {
  region: string;
  agentId: string;
  status: CheckRunStatus;
  latencyMs: number;
  statusCode: number | null;
  /** "error class: message", the class or the message alone, or null when the check passed. */
  error: string | null;
  /** The phases the agent timed, in order; phases it did not time are left out. */
  phases: PhaseTiming[];
  startedAt: string;
}

export interface MissingRegion {
  region: string;
  reason: CheckRunMissingReason;
  explanation: string;
}

export interface TestRunView {
  rows: TestRunRow[];
  missing: MissingRegion[];
  /** One line for the whole run, e.g. "2 of 3 regions up; 1 region did not answer". */
  summary: string;
  /** The worst outcome, for the colour of the summary: down beats unknown beats up. */
  severity: "success" | "warning" | "error";
}

const MISSING_EXPLANATIONS: Record<CheckRunMissingReason, string> = {
  no_coverage: "No live agent in this region can run the check.",
  timed_out: "The agent sent no result before the timeout.",
};

/** Explanation of a missing region; an unknown reason from a newer API is shown as it is. */
export function explainMissing(reason: string): string {
  return MISSING_EXPLANATIONS[reason as CheckRunMissingReason] ?? `No result (${reason}).`;
}

export function phaseTimings(phases: Phases | null): PhaseTiming[] {
  if (!phases) return [];
  const timings: PhaseTiming[] = [];
  for (const phase of PHASES) {
    const ms = phases[phase.key];
    if (ms !== null && ms !== undefined) timings.push({ label: phase.label, ms });
  }
  return timings;
}

/** "DNS 1.2 ms · Connect 3.0 ms · …", or "–" when no phase was timed. */
export function formatPhases(timings: readonly PhaseTiming[]): string {
  if (timings.length === 0) return "–";
  return timings.map((timing) => `${timing.label} ${formatLatency(timing.ms)}`).join(" · ");
}

function errorText(errorClass: string | null, message: string | null): string | null {
  const parts = [errorClass, message].filter((part): part is string => Boolean(part));
  return parts.length > 0 ? parts.join(": ") : null;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function summarise(rows: readonly TestRunRow[], missingCount: number): string {
  const total = rows.length + missingCount;
  if (total === 0) return "The monitor has no region to run in.";
  if (rows.length === 0) return "No region returned a result.";

  const up = rows.filter((row) => row.status === "up").length;
  const down = rows.filter((row) => row.status === "down").length;
  const unknown = rows.length - up - down;
  const parts = [up === total ? `All ${plural(total, "region")} up` : `${up} of ${total} up`];
  if (down > 0) parts.push(`${down} down`);
  if (unknown > 0) parts.push(`${unknown} unknown`);
  if (missingCount > 0) parts.push(`${plural(missingCount, "region")} without a result`);
  return `${parts.join(", ")}.`;
}

/** Shapes a test run for display: regions sorted by name, texts ready to render. */
export function shapeTestRun(run: CheckRun): TestRunView {
  const rows: TestRunRow[] = run.results
    .map((result) => ({
      region: result.region,
      agentId: result.agent_id,
      status: result.status,
      latencyMs: result.latency_ms,
      statusCode: result.status_code,
      error: errorText(result.error_class, result.error_message),
      phases: phaseTimings(result.phases),
      startedAt: result.started_at,
    }))
    .sort((a, b) => a.region.localeCompare(b.region));
  const missing = run.missing
    .map((entry) => ({
      region: entry.region,
      reason: entry.reason,
      explanation: explainMissing(entry.reason),
    }))
    .sort((a, b) => a.region.localeCompare(b.region));

  let severity: TestRunView["severity"] = "success";
  if (missing.length > 0 || rows.some((row) => row.status === "unknown")) severity = "warning";
  if (rows.some((row) => row.status === "down") || rows.length === 0) severity = "error";

  return { rows, missing, summary: summarise(rows, missing.length), severity };
}
