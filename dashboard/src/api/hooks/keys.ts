import type { UptimeWindow } from "../types";

/** Query keys of every resource, so invalidation after a mutation hits the right caches. */
export const queryKeys = {
  me: ["me"] as const,
  overview: ["overview"] as const,
  monitors: ["monitors"] as const,
  monitor: (id: string) => ["monitors", id] as const,
  uptime: (id: string, window: UptimeWindow) => ["monitors", id, "uptime", window] as const,
  latency: (id: string, window: UptimeWindow) => ["monitors", id, "latency", window] as const,
  results: (id: string, region: string, status: string) =>
    ["monitors", id, "results", region, status] as const,
  incidents: (monitorId: string) => ["incidents", monitorId] as const,
  regions: ["regions"] as const,
  agents: ["agents"] as const,
  channels: ["channels"] as const,
  members: (organizationId: string) => ["organizations", organizationId, "members"] as const,
  invitations: (organizationId: string) =>
    ["organizations", organizationId, "invitations"] as const,
};
