import { Box, useTheme } from "@mui/material";
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatLatency } from "../../lib/format";
import { LAYOUT, SERIES_COLORS } from "../../theme";
import type { LatencyChartData } from "./chartData";

const SINGLE_POINT_SPAN_S = 3600;

/**
 * Canvas line chart of p50 latency per region, drawn with uPlot. Loaded lazily because uPlot is
 * only needed on the monitor page.
 */
export default function LatencyChart({ data }: { data: LatencyChartData }) {
  const theme = useTheme();
  const containerRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;

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
        ...data.regions.map((region, index) => ({
          label: region,
          stroke: SERIES_COLORS[index % SERIES_COLORS.length],
          width: 1.5,
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
        y: { range: (_chart, _min, max) => [0, Math.max(max, 1) * 1.1] },
      },
      cursor: { drag: { x: true, y: false } },
    };

    const chart = new uPlot(options, data.columns, container);
    // uPlot spreads a single timestamp over years of empty axis (a range
    // callback is not consulted then), so set a one-hour span around it.
    const times = data.columns[0];
    if (times.length > 0 && times[0] === times[times.length - 1]) {
      const center = times[0] as number;
      chart.setScale("x", {
        min: center - SINGLE_POINT_SPAN_S / 2,
        max: center + SINGLE_POINT_SPAN_S / 2,
      });
    }
    const observer = new ResizeObserver(() => {
      chart.setSize({ width: container.clientWidth, height: LAYOUT.chartHeight });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [data, theme]);

  return (
    <Box
      ref={containerRef}
      role="img"
      aria-label={`Latency chart for ${data.regions.join(", ")}`}
      sx={{ width: "100%", "& .u-legend": { color: "text.primary", fontSize: 13 } }}
    />
  );
}
