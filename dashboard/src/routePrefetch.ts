import type { QueryClient } from "@tanstack/react-query";
import type { ApiClient } from "./api/client";
import { prefetchMonitorPage } from "./api/hooks/monitors";
import { parseMonitorPageAddress } from "./features/monitor/pageAddress";

/**
 * Starts the queries of the page at `location` before React renders anything, so they run
 * while the page's code loads. Only the monitor page has such queries so far, and other pages
 * fetch when they mount.
 */
export function prefetchForLocation(
  queryClient: QueryClient,
  api: ApiClient,
  location: { pathname: string; search: string },
): void {
  if (!api.isSignedIn) return;

  const address = parseMonitorPageAddress(location.pathname, location.search);
  if (!address) return;
  prefetchMonitorPage(queryClient, api, address.monitorId, address.window);
}
