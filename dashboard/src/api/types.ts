// Shapes of the control plane's REST API at /api/v1.

export type MonitorKind = "http" | "tcp" | "dns" | "tls" | "grpc";

export type MonitorStatus = "up" | "down" | "degraded" | "no_data" | "paused";
export type RegionStatus = "up" | "down" | "no_data" | "no_coverage";
export type CheckStatus = "up" | "down";
/** Outcome of a "test now" run in one region, "unknown" when the agent could not judge it. */
export type CheckRunStatus = CheckStatus | "unknown";

/** Every status the UI can colour: the union of monitor, region and check states. */
export type Status = MonitorStatus | RegionStatus | CheckRunStatus;

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
  expires_in: number;
}

export interface Organization {
  id: string;
  name: string;
  role: string;
}

export interface CurrentUser {
  id: string;
  email: string;
  organizations: Organization[];
}

/**
 * The monitor options the form edits. The API stores more (method, headers, assertions and
 * others); an edit must send those back unchanged.
 */
export interface MonitorOptions {
  /** Codes and ranges such as [200, "300-399"]. Empty or missing means any 2xx. */
  expected_status?: Array<number | string>;
  keyword?: string;
  follow_redirects?: boolean;
  verify_tls?: boolean;
  /** gRPC only: connect with TLS. The agent reads verify_tls only when this is true. */
  tls?: boolean;
}

export interface Monitor {
  id: string;
  name: string;
  kind: MonitorKind;
  url: string | null;
  target: string | null;
  interval_seconds: number;
  timeout_seconds: number;
  regions: string[];
  paused: boolean;
  tags: string[];
  options: MonitorOptions & Record<string, unknown>;
  channel_ids: string[];
  /** Regions that must be down for the monitor to be down, where 0 means a majority. */
  quorum?: number;
  alerting?: Record<string, unknown>;
  parent_id?: string | null;
  version?: number;
  created_at: string;
  updated_at: string;
}

export interface MonitorCreate {
  name: string;
  kind: MonitorKind;
  url?: string | null;
  target?: string | null;
  interval_seconds: number;
  timeout_seconds: number;
  regions: string[];
  paused?: boolean;
  tags?: string[];
  options?: MonitorOptions & Record<string, unknown>;
  channel_ids?: string[];
  quorum?: Monitor["quorum"];
  alerting?: Monitor["alerting"];
  parent_id?: string | null;
}

/** PATCH body: only the fields present change, and `options` replaces the stored options. */
export type MonitorUpdate = Partial<Omit<MonitorCreate, "kind">>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface RegionState {
  region: string;
  status: RegionStatus;
  last_latency_ms: number | null;
  last_checked_at: string | null;
  last_error: string | null;
}

export interface OverviewItem {
  monitor: Monitor;
  status: MonitorStatus;
  regions: RegionState[];
  uptime_24h: number | null;
  uptime_7d: number | null;
  uptime_30d: number | null;
  last_latency_ms: number | null;
  sparkline: (number | null)[];
}

export interface Overview {
  items: OverviewItem[];
}

export type UptimeWindow = "24h" | "7d" | "30d" | "90d";

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  avg: number;
}

export interface RegionUptime {
  region: string;
  status: RegionStatus;
  uptime: number | null;
  coverage: number;
  checks: number;
  latency_ms: LatencySummary | null;
  last_checked_at: string | null;
}

export interface Uptime {
  window: UptimeWindow;
  from: string;
  to: string;
  status: MonitorStatus;
  uptime: number | null;
  coverage: number;
  latency_ms: LatencySummary | null;
  regions: RegionUptime[];
}

export interface LatencyPoint {
  t: string;
  region: string;
  p50: number | null;
  p95: number | null;
  min: number | null;
  max: number | null;
  count: number;
}

export interface LatencySeries {
  bucket_seconds?: number;
  points: LatencyPoint[];
}

export interface Phases {
  dns_ms: number | null;
  connect_ms: number | null;
  tls_ms: number | null;
  first_byte_ms: number | null;
  transfer_ms: number | null;
}

export interface CheckResult {
  region: string;
  status: CheckStatus;
  latency_ms: number | null;
  scheduled_at: string;
  started_at: string | null;
  status_code: number | null;
  error_class: string | null;
  error_message: string | null;
  phases: Phases | null;
}

/** One region's outcome of POST /monitors/{id}/test or POST /monitors/test. */
export interface CheckRunResult {
  region: string;
  agent_id: string;
  status: CheckRunStatus;
  latency_ms: number;
  status_code: number | null;
  error_class: string | null;
  error_message: string | null;
  phases: Phases;
  started_at: string;
}

export type CheckRunMissingReason = "no_coverage" | "timed_out";

/** A region that returned no outcome of a test run. */
export interface CheckRunMissing {
  region: string;
  reason: CheckRunMissingReason;
}

export interface CheckRun {
  results: CheckRunResult[];
  missing: CheckRunMissing[];
}

export interface Region {
  name: string;
  agents_live: number;
  agents_total: number;
  has_coverage: boolean;
}

export type AgentStatus = "connected" | "disconnected" | "revoked";

export interface Agent {
  id: string;
  name: string;
  region: string;
  status: AgentStatus;
  last_seen_at: string | null;
  version: string | null;
  created_at: string;
}

export interface EnrolledAgent extends Agent {
  token: string;
}

export interface Incident {
  id: string;
  monitor_id: string;
  opened_at: string;
  closed_at: string | null;
  cause: string | null;
  acknowledged_at: string | null;
}

export type ChannelKind = "webhook" | "email" | "slack";

export interface Channel {
  id: string;
  kind: ChannelKind | string;
  name: string;
  config: Record<string, unknown>;
}

export interface ChannelCreate {
  kind: ChannelKind;
  name: string;
  config: Record<string, string>;
}

export interface ItemList<T> {
  items: T[];
}
