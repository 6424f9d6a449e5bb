import type { MonitorStatus, Status } from "../api/types";

export const STATUS_LABELS: Record<Status, string> = {
  up: "Up",
  down: "Down",
  degraded: "Degraded",
  no_data: "No data",
  paused: "Paused",
  no_coverage: "No coverage",
  unknown: "Unknown",
};

/** Sort rank of monitor states, worst first, so problems rise to the top of the overview. */
export const STATUS_SEVERITY: Record<MonitorStatus, number> = {
  down: 0,
  degraded: 1,
  no_data: 2,
  up: 3,
  paused: 4,
};
