import { Box, useTheme } from "@mui/material";
import { useEffect, useImperativeHandle, useRef, type Ref } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatLatency } from "../../lib/format";
import { LAYOUT, SERIES_COLORS } from "../../theme";
import type { LatencyChartData } from "./chartData";

const SINGLE_POINT_SPAN_S = 3600;
/** Dash pattern of p95 lines in CSS pixels. The p50 lines are solid. */
const P95_DASH = [6, 4];

export interface LatencyChartHandle {
  /** Shows the whole window again after a zoom. */
  resetZoom(): void;
}

export interface LatencyChartProps {
  data: LatencyChartData;
  /** Keys of the series to hide. */
  hidden: ReadonlySet<string>;
  /** Called with the data row under the cursor, or null when the cursor leaves the chart. */
  onCursorRow(row: number | null): void;
  onZoomChange(isZoomed: boolean): void;
  ref?: Ref<LatencyChartHandle>;
}

/** Shows every point: the data's full time range, or one hour around a single timestamp. */
function fitAll(chart: uPlot, data: LatencyChartData): void {
  chart.setData(data.columns, true);
  // uPlot spreads a single timestamp over years of empty axis (a range
  // callback is not consulted then), so set a one-hour span around it.
  const times = data.columns[0];
  if (times.length > 0 && times[0] === times[times.length - 1]) {
    const center = times[0];
    chart.setScale("x", {
      min: center - SINGLE_POINT_SPAN_S / 2,
      max: center + SINGLE_POINT_SPAN_S / 2,
    });
  }
}

function isZoomedIn(chart: uPlot): boolean {
  const times = chart.data[0];
  const { min, max } = chart.scales.x;
  if (times.length === 0 || min === undefined || max === undefined) return false;
  return min > times[0] || max < times[times.length - 1];
}

/**
 * Canvas line chart of p50 (solid) and p95 (dashed) latency per region, drawn with uPlot.
 * Dragging across it zooms in; a data refresh keeps the zoom. Loaded lazily because uPlot is
 * only needed on the monitor page.
 */
export default function LatencyChart(props: LatencyChartProps) {
  const { data, hidden, ref } = props;
  const theme = useTheme();
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  // The data the chart shows, so a render with the same data draws nothing again.
  const drawnDataRef = useRef<LatencyChartData | null>(null);
  // The chart is built once per series layout; these refs give it the latest values.
  const latest = useRef({ props, data, hidden });
  latest.current = { props, data, hidden };
  const layoutKey = data.series.map((series) => series.key).join("|");

  useImperativeHandle(ref, () => ({
    resetZoom: () => {
      if (chartRef.current) fitAll(chartRef.current, latest.current.data);
    },
  }));

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const { data: initialData, hidden: initialHidden } = latest.current;

    const axisStyle = {
      stroke: theme.palette.text.secondary,
      grid: { stroke: theme.palette.divider, width: 1 },
      ticks: { stroke: theme.palette.divider, width: 1 },
    };
    const options: uPlot.Options = {
      width: container.clientWidth,
      height: LAYOUT.chartHeight,
      // uPlot formats x values in the viewer's time zone by default.
      series: [
        {},
        ...initialData.series.map((series) => ({
          label: series.key,
          stroke: SERIES_COLORS[series.regionIndex % SERIES_COLORS.length],
          width: series.percentile === "p50" ? 1.75 : 1.25,
          dash: series.percentile === "p95" ? P95_DASH : undefined,
          show: !initialHidden.has(series.key),
          spanGaps: false,
          value: (_chart: uPlot, value: number | null) => formatLatency(value),
        })),
      ],
      axes: [
        axisStyle,
        { ...axisStyle, values: (_chart, ticks) => ticks.map((tick) => `${tick} ms`), size: 60 },
      ],
      scales: {
        x: { time: true },
        y: { range: (_chart, _min, max) => [0, Math.max(max ?? 0, 1) * 1.1] },
      },
      // The legend is drawn by LatencyLegend, with buttons that show and hide lines.
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setCursor: [(chart) => latest.current.props.onCursorRow(chart.cursor.idx ?? null)],
        setScale: [
          (chart, scaleKey) => {
            if (scaleKey === "x") latest.current.props.onZoomChange(isZoomedIn(chart));
          },
        ],
      },
    };

    const chart = new uPlot(options, [[]], container);
    chartRef.current = chart;
    fitAll(chart, initialData);
    drawnDataRef.current = initialData;
    const observer = new ResizeObserver(() => {
      chart.setSize({ width: container.clientWidth, height: LAYOUT.chartHeight });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      chart.destroy();
      chartRef.current = null;
    };
  }, [layoutKey, theme]);

  // New data from a refresh: keep the zoomed range while the user is zoomed in.
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || drawnDataRef.current === data) return;
    if (isZoomedIn(chart)) chart.setData(data.columns, false);
    else fitAll(chart, data);
    drawnDataRef.current = data;
  }, [data]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    data.series.forEach((series, index) => {
      const isShown = !hidden.has(series.key);
      if (chart.series[index + 1]?.show !== isShown) chart.setSeries(index + 1, { show: isShown });
    });
  }, [data.series, hidden]);

  return (
    <Box
      ref={containerRef}
      role="img"
      aria-label={`Latency chart for ${data.regions.join(", ")}`}
      sx={{ width: "100%" }}
    />
  );
}
