// The monitor page's address and the requests of its first screen. Kept free of React and the
// query library, so the boot code can start the requests before those have loaded.
import type { UptimeWindow } from "../../api/types";
import { parseWindow } from "./windows";

export interface MonitorPageAddress {
  monitorId: string;
  window: UptimeWindow;
}

/** Reads /monitors/<id>?window=… and returns null for any other address, /monitors/new too. */
export function parseMonitorPageAddress(
  pathname: string,
  search: string,
): MonitorPageAddress | null {
  const match = /^\/monitors\/([^/]+)\/?$/.exec(pathname);
  if (!match || match[1] === "new") return null;
  return {
    monitorId: decodeURIComponent(match[1]),
    window: parseWindow(new URLSearchParams(search).get("window")),
  };
}

export interface ApiGet {
  path: string;
  query?: Record<string, string>;
}

/** GET requests of the page's first screen: the monitor, its uptime and its latency. */
export function firstScreenRequests({ monitorId, window }: MonitorPageAddress): ApiGet[] {
  return [
    { path: `/monitors/${monitorId}` },
    { path: `/monitors/${monitorId}/uptime`, query: { window } },
    { path: `/monitors/${monitorId}/latency`, query: { window } },
  ];
}
