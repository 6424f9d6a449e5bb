import type { UptimeWindow } from "../../api/types";

export const WINDOWS: UptimeWindow[] = ["24h", "7d", "30d", "90d"];

export const DEFAULT_WINDOW: UptimeWindow = "24h";

/** Returns the window named in the address (?window=30d), or the default for a bad value. */
export function parseWindow(value: string | null): UptimeWindow {
  return WINDOWS.find((window) => window === value) ?? DEFAULT_WINDOW;
}
