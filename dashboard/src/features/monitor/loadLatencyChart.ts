// Loads the uPlot chart chunk once. The monitor route calls this as soon as it matches, so the
// chunk downloads while the page's data is on its way instead of after it arrives.
let chartModule: Promise<typeof import("./LatencyChart")> | null = null;

export function loadLatencyChart(): Promise<typeof import("./LatencyChart")> {
  // A failed download is forgotten, so the next call (a retry or another visit) tries again.
  chartModule ??= import("./LatencyChart").catch((error: unknown) => {
    chartModule = null;
    throw error;
  });
  return chartModule;
}
