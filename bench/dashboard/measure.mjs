// Measures the first load of two dashboard pages in headless Chromium. Run by run.py, which
// starts the api and seeds the data; prints one JSON object.
//
// Variables: MOMETRICS_BENCH_BASE_URL (the api's origin), MOMETRICS_BENCH_TOKENS (JSON of the
// dashboard's stored tokens), MOMETRICS_BENCH_MONITOR_ID (the monitor with 30 days of results),
// MOMETRICS_BENCH_MONITOR_COUNT (monitors the overview must count), MOMETRICS_BENCH_RUNS,
// MOMETRICS_BENCH_PAGES (comma-separated page names to measure, all by default).
//
// Every run starts a new browser with an empty cache. "ready" is when the page shows its data
// (every overview row, or the chart's canvas). "interactive" is the end of the last long task
// (over 50 ms) before a 2 s window without one, or "ready" when that is later: a simplified
// form of Lighthouse's time to interactive, which waits 5 s. Main-thread figures come from the
// DevTools protocol's Performance.getMetrics after that quiet window.
import { launchBrowser } from "../../dashboard/e2e/browser.mjs";

const BASE_URL = process.env.MOMETRICS_BENCH_BASE_URL;
const TOKENS = process.env.MOMETRICS_BENCH_TOKENS;
const MONITOR_ID = process.env.MOMETRICS_BENCH_MONITOR_ID;
const MONITOR_COUNT = Number(process.env.MOMETRICS_BENCH_MONITOR_COUNT ?? "1000");
const RUNS = Number(process.env.MOMETRICS_BENCH_RUNS ?? "3");
const QUIET_MS = 2_000;
const MAX_WAIT_MS = 60_000;

// Each page's ready condition is an expression evaluated in the page on every animation frame.
const PAGES = [
  {
    name: "overview",
    path: "/",
    // The first page of the Monitors table (50 rows and the header) and the pagination label,
    // which counts every monitor the API returned.
    readyWhen:
      `document.querySelectorAll('table[aria-label="Monitors"] tr').length >= 51 && ` +
      `document.body.innerText.includes("of ${MONITOR_COUNT} monitors")`,
  },
  {
    name: "monitor_30d",
    path: `/monitors/${MONITOR_ID}?window=30d`,
    readyWhen:
      `document.querySelector('[role="img"][aria-label^="Latency chart"] canvas') !== null && ` +
      `document.querySelector('table[aria-label^="Uptime per region"]') !== null`,
  },
];

function installProbes(tokens) {
  window.localStorage.setItem("mometrics.tokens", tokens);
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__longTasks.push({ start: entry.startTime, end: entry.startTime + entry.duration });
    }
  }).observe({ type: "longtask", buffered: true });
}

async function measureOnce(target) {
  const { context, close } = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.addInitScript(installProbes, TOKENS);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");

    await page.goto(`${BASE_URL}${target.path}`, { waitUntil: "commit" });
    const readyHandle = await page.waitForFunction(
      `(${target.readyWhen}) ? performance.now() : null`,
      undefined,
      { polling: "raf", timeout: MAX_WAIT_MS },
    );
    const readyMs = await readyHandle.jsonValue();

    // Wait until no long task has ended for QUIET_MS.
    let lastLongTaskEnd = 0;
    for (;;) {
      const { now, last } = await page.evaluate(() => ({
        now: performance.now(),
        last: Math.max(0, ...window.__longTasks.map((task) => task.end)),
      }));
      lastLongTaskEnd = last;
      if (now - Math.max(last, readyMs) >= QUIET_MS || now > MAX_WAIT_MS) break;
      await page.waitForTimeout(250);
    }

    const { metrics } = await cdp.send("Performance.getMetrics");
    const metric = (name) => metrics.find((entry) => entry.name === name)?.value ?? 0;
    const timing = await page.evaluate(() => {
      const navigation = performance.getEntriesByType("navigation")[0];
      const resources = performance.getEntriesByType("resource");
      return {
        html_response_ms: navigation.responseEnd,
        dom_content_loaded_ms: navigation.domContentLoadedEventEnd,
        long_tasks: window.__longTasks.length,
        longest_task_ms: Math.max(0, ...window.__longTasks.map((task) => task.end - task.start)),
        api: resources
          .filter((entry) => entry.name.includes("/api/v1/"))
          .map((entry) => ({
            path: new URL(entry.name).pathname + new URL(entry.name).search,
            // Time from sending the request to the first byte: the server's share.
            server_wait_ms: Math.round(entry.responseStart - entry.requestStart),
            total_ms: Math.round(entry.responseEnd - entry.startTime),
            response_end_ms: Math.round(entry.responseEnd),
          })),
        scripts: resources
          .filter((entry) => new URL(entry.name).pathname.endsWith(".js"))
          .map((entry) => new URL(entry.name).pathname),
        // When each script was requested and arrived, to see which loads wait for others.
        script_timing: resources
          .filter((entry) => new URL(entry.name).pathname.endsWith(".js"))
          .map((entry) => ({
            path: new URL(entry.name).pathname,
            start_ms: Math.round(entry.startTime),
            request_start_ms: Math.round(entry.requestStart),
            response_end_ms: Math.round(entry.responseEnd),
          })),
      };
    });
    return {
      ready_ms: Math.round(readyMs),
      interactive_ms: Math.round(Math.max(readyMs, lastLongTaskEnd)),
      main_thread_ms: Math.round(metric("TaskDuration") * 1000),
      script_ms: Math.round(metric("ScriptDuration") * 1000),
      layout_ms: Math.round(metric("LayoutDuration") * 1000),
      style_ms: Math.round(metric("RecalcStyleDuration") * 1000),
      js_heap_mb: Math.round(metric("JSHeapUsedSize") / 1e5) / 10,
      ...timing,
    };
  } finally {
    await close();
  }
}

const selected = (process.env.MOMETRICS_BENCH_PAGES ?? PAGES.map((page) => page.name).join(","))
  .split(",")
  .filter(Boolean);
const results = {};
for (const target of PAGES.filter((page) => selected.includes(page.name))) {
  results[target.name] = [];
  for (let run = 0; run < RUNS; run += 1) results[target.name].push(await measureOnce(target));
}
console.log(JSON.stringify(results));
