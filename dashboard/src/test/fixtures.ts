import type { Monitor, OverviewItem } from "../api/types";

export function makeMonitor(overrides: Partial<Monitor> = {}): Monitor {
  return {
    id: "m1",
    name: "API",
    kind: "http",
    url: "https://api.example.com/health",
    target: null,
    interval_seconds: 60,
    timeout_seconds: 10,
    regions: ["eu-central", "us-east"],
    paused: false,
    tags: [],
    options: {},
    channel_ids: [],
    created_at: "2024-05-01T10:00:00Z",
    updated_at: "2024-05-01T10:00:00Z",
    ...overrides,
  };
}

export function makeOverviewItem(
  monitor: Partial<Monitor>,
  overrides: Partial<OverviewItem> = {},
): OverviewItem {
  return {
    monitor: makeMonitor(monitor),
    status: "up",
    regions: [
      {
        region: "eu-central",
        status: "up",
        last_latency_ms: 42,
        last_checked_at: "2024-05-01T10:00:00Z",
        last_error: null,
      },
    ],
    uptime_24h: 1,
    uptime_7d: 0.9999,
    uptime_30d: 0.999,
    last_latency_ms: 42,
    sparkline: [40, 42, null, 41],
    ...overrides,
  };
}
