// Formatting of uptime, latency and times for display.

/** Decimal places of uptime percentages: 99.999 % needs three. */
const UPTIME_DECIMALS = 3;

/**
 * Floors an uptime fraction (0..1) to a percentage with three decimals, so a monitor that was
 * down for any time never shows 100 %. Returns null for null input.
 */
export function floorUptimePercent(fraction: number | null): number | null {
  if (fraction === null || Number.isNaN(fraction)) return null;

  const clamped = Math.min(1, Math.max(0, fraction));
  const scale = 10 ** UPTIME_DECIMALS;
  // The small epsilon absorbs binary rounding (0.29 * 1e5 is 28999.999999999996) without ever
  // lifting a real fraction such as 0.999996 into the next step.
  const steps = Math.floor(clamped * 100 * scale + 1e-6);
  // Anything below 1 must stay below 100 %, even where the epsilon rounded it up.
  const cappedSteps = clamped < 1 ? Math.min(steps, 100 * scale - 1) : steps;
  return cappedSteps / scale;
}

/** Uptime for display: "99.999 %", "100 %" only for exactly full uptime, "no data" for null. */
export function formatUptime(fraction: number | null): string {
  const percent = floorUptimePercent(fraction);
  if (percent === null) return "no data";
  if (percent === 100) return "100 %";
  return `${percent.toFixed(UPTIME_DECIMALS)} %`;
}

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatPercent(fraction: number): string {
  return `${Math.floor(fraction * 100)} %`;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "medium",
});

/** Time in the viewer's time zone. */
export function formatLocalTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return dateTimeFormat.format(date);
}

/** Time in UTC, ISO 8601 to the second, for tooltips. */
export function formatUtcTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "5 minutes ago" style text, relative to `now`. */
export function formatRelativeTime(iso: string, now: number = Date.now()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;

  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relativeFormat.format(seconds, "second");
  if (abs < 3600) return relativeFormat.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return relativeFormat.format(Math.round(seconds / 3600), "hour");
  return relativeFormat.format(Math.round(seconds / 86_400), "day");
}

export function formatDuration(fromIso: string, toIso: string | null, now = Date.now()): string {
  const end = toIso ? new Date(toIso).getTime() : now;
  const totalSeconds = Math.max(0, Math.round((end - new Date(fromIso).getTime()) / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${seconds} s`;
  return `${seconds} s`;
}
