// Entry point. It starts the first screen's API requests, then loads the rest of the dashboard,
// so the requests and the code download run side by side.
import { readOrganizationId } from "./api/organization";
import { LocalStorageTokenStore } from "./api/tokens";
import { EarlyResponses, startFirstRequests } from "./boot/earlyResponses";
import { loadLatencyChart } from "./features/monitor/loadLatencyChart";
import { parseMonitorPageAddress } from "./features/monitor/pageAddress";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element.");

const early = new EarlyResponses();
const tokens = new LocalStorageTokenStore().get();
startFirstRequests(early, window.location, tokens, readOrganizationId());
if (parseMonitorPageAddress(window.location.pathname, window.location.search)) {
  // The page's own code and the chart's code download now, beside the rest of the app, rather
  // than after the app's first render requests them. A failure shows where the app renders them.
  import("./pages/MonitorPage").catch(() => undefined);
  loadLatencyChart().catch(() => undefined);
}

import("./renderApp")
  .then(({ renderApp }) => renderApp(root, early.fetch))
  .catch((error: unknown) => {
    console.error(error);
    root.textContent = "The dashboard failed to load. Check your connection and reload the page.";
  });
