// Compares chart libraries by the time to draw 43,200 points x 3 series (30 days of one-minute
// latency in three regions) in headless Chromium. Prints one JSON object.
//
// Each library draws into a fresh 1200 x 300 container, ROUNDS times after one warm-up draw. The
// time runs from the constructor call until two animation frames later, so it includes the
// library's first paint; it excludes loading the library's script.
import { createRequire } from "node:module";
import { launchBrowser } from "../../dashboard/e2e/browser.mjs";

const require = createRequire(import.meta.url);
const POINTS = 43_200;
const SERIES = 3;
const ROUNDS = 7;

const LIBRARIES = {
  uplot: {
    scripts: [require.resolve("uplot/dist/uPlot.iife.min.js")],
    styles: [require.resolve("uplot/dist/uPlot.min.css")],
    version: require("uplot/package.json").version,
  },
  echarts: {
    scripts: [require.resolve("echarts/dist/echarts.min.js")],
    styles: [],
    version: require("echarts/package.json").version,
  },
};

/** Runs in the page: builds the data once, then times each draw. */
async function timeDraws({ library, variant, points, series, rounds }) {
  const start = Math.floor(Date.now() / 1000) - points * 60;
  const xs = Array.from({ length: points }, (_, index) => start + index * 60);
  const ys = Array.from({ length: series }, (_, s) =>
    xs.map((_, index) => 20 + s * 15 + 10 * Math.sin(index / 300) + ((index * 7919) % 13)),
  );
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

  function draw(container) {
    if (library === "uplot") {
      const options = {
        width: 1200,
        height: 300,
        series: [{}, ...ys.map((_, s) => ({ label: `r${s}`, stroke: "#1976d2", width: 1.5 }))],
      };
      const chart = new window.uPlot(options, [xs, ...ys], container);
      return () => chart.destroy();
    }
    const chart = window.echarts.init(container, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      xAxis: { type: "time" },
      yAxis: { type: "value" },
      tooltip: { trigger: "axis" },
      series: ys.map((values, s) => ({
        name: `r${s}`,
        type: "line",
        showSymbol: false,
        sampling: variant === "lttb" ? "lttb" : undefined,
        data: values.map((value, index) => [xs[index] * 1000, value]),
      })),
    });
    return () => chart.dispose();
  }

  const timings = [];
  for (let round = 0; round <= rounds; round += 1) {
    const container = document.createElement("div");
    container.style.width = "1200px";
    container.style.height = "300px";
    document.body.append(container);
    const began = performance.now();
    const dispose = draw(container);
    await nextFrame();
    await nextFrame();
    const elapsed = performance.now() - began;
    dispose();
    container.remove();
    if (round > 0) timings.push(elapsed);
  }
  return timings;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Measures every library and variant in one browser; returns the figures in milliseconds. */
export async function compareCharts() {
  const { context, close } = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  const results = [];
  try {
    const variants = [
      ["uplot", "default"],
      ["echarts", "default"],
      ["echarts", "lttb"],
    ];
    for (const [library, variant] of variants) {
      const page = await context.newPage();
      await page.setContent("<!doctype html><html><body></body></html>");
      for (const style of LIBRARIES[library].styles) await page.addStyleTag({ path: style });
      for (const script of LIBRARIES[library].scripts) await page.addScriptTag({ path: script });
      const timings = await page.evaluate(timeDraws, {
        library,
        variant,
        points: POINTS,
        series: SERIES,
        rounds: ROUNDS,
      });
      results.push({
        library,
        version: LIBRARIES[library].version,
        variant,
        points_per_series: POINTS,
        series: SERIES,
        median_ms: Math.round(median(timings)),
        min_ms: Math.round(Math.min(...timings)),
        max_ms: Math.round(Math.max(...timings)),
      });
      await page.close();
    }
  } finally {
    await close();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await compareCharts(), null, 2));
}
