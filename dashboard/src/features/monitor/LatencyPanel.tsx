import { Box, Button, Skeleton, Stack, Typography } from "@mui/material";
import { lazy, Suspense, useMemo, useRef, useState } from "react";
import { useLatency } from "../../api/hooks/monitors";
import type { UptimeWindow } from "../../api/types";
import { ErrorState } from "../../components/QueryState";
import { formatLocalTime } from "../../lib/format";
import { LAYOUT } from "../../theme";
import { toChartData } from "./chartData";
import type { LatencyChartHandle } from "./LatencyChart";
import { LatencyLegend } from "./LatencyLegend";
import { loadLatencyChart } from "./loadLatencyChart";

const LatencyChart = lazy(loadLatencyChart);

export function LatencyPanel({ monitorId, window }: { monitorId: string; window: UptimeWindow }) {
  const latency = useLatency(monitorId, window);
  const data = useMemo(() => toChartData(latency.data?.points ?? []), [latency.data]);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(() => new Set());
  const [cursorRow, setCursorRow] = useState<number | null>(null);
  const [isZoomed, setZoomed] = useState(false);
  const chartRef = useRef<LatencyChartHandle>(null);
  const placeholder = <Skeleton variant="rectangular" height={LAYOUT.chartHeight} />;

  if (latency.isPending) return placeholder;
  if (latency.isError)
    return <ErrorState error={latency.error} onRetry={() => void latency.refetch()} />;
  if (data.columns[0].length === 0) {
    return <Typography color="text.secondary">No latency data in this window.</Typography>;
  }

  const toggle = (key: string) =>
    setHidden((current) => {
      const next = new Set(current);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  const cursorTime = cursorRow === null ? undefined : data.columns[0][cursorRow];

  return (
    <Box>
      <Suspense fallback={placeholder}>
        <LatencyChart
          // A new window starts a new chart, so a zoom into the old window does not carry over.
          key={window}
          ref={chartRef}
          data={data}
          hidden={hidden}
          onCursorRow={setCursorRow}
          onZoomChange={setZoomed}
        />
      </Suspense>
      <LatencyLegend data={data} hidden={hidden} row={cursorRow} onToggle={toggle} />
      <Stack direction="row" alignItems="center" spacing={1} sx={{ mt: 1, minHeight: 30 }}>
        <Typography variant="body2" color="text.secondary" sx={{ flex: 1 }}>
          {cursorTime === undefined
            ? "Latest values. Drag across the chart to zoom in; double-click to zoom out."
            : `Values at ${formatLocalTime(new Date(cursorTime * 1000).toISOString())}.`}
        </Typography>
        {isZoomed && (
          <Button size="small" onClick={() => chartRef.current?.resetZoom()}>
            Reset zoom
          </Button>
        )}
      </Stack>
    </Box>
  );
}
