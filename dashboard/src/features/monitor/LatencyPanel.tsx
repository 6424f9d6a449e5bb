import { Skeleton, Typography } from "@mui/material";
import { lazy, Suspense, useMemo } from "react";
import { useLatency } from "../../api/hooks/monitors";
import type { UptimeWindow } from "../../api/types";
import { ErrorState } from "../../components/QueryState";
import { LAYOUT } from "../../theme";
import { toChartData } from "./chartData";

const LatencyChart = lazy(() => import("./LatencyChart"));

export function LatencyPanel({ monitorId, window }: { monitorId: string; window: UptimeWindow }) {
  const latency = useLatency(monitorId, window);
  const data = useMemo(() => toChartData(latency.data?.points ?? []), [latency.data]);
  const placeholder = <Skeleton variant="rectangular" height={LAYOUT.chartHeight} />;

  if (latency.isPending) return placeholder;
  if (latency.isError)
    return <ErrorState error={latency.error} onRetry={() => void latency.refetch()} />;
  if (data.columns[0].length === 0) {
    return <Typography color="text.secondary">No latency data in this window.</Typography>;
  }
  return (
    <Suspense fallback={placeholder}>
      <LatencyChart data={data} />
    </Suspense>
  );
}
