import { Box, Paper, Skeleton, Stack, Typography } from "@mui/material";
import { useRef, type ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import { useLatency, useUptime } from "../../api/hooks/monitors";
import type { Monitor, UptimeWindow } from "../../api/types";
import { ErrorState } from "../../components/QueryState";
import { useNearViewport } from "../../lib/useNearViewport";
import { IncidentList } from "./IncidentList";
import { LatencyPanel } from "./LatencyPanel";
import { MonitorHeader } from "./MonitorHeader";
import { RegionUptimeTable } from "./RegionUptimeTable";
import { ResultsTable } from "./ResultsTable";
import { WindowPicker } from "./WindowPicker";
import { DEFAULT_WINDOW, parseWindow } from "./windows";

/** Distance from the viewport at which the results start loading, so they are ready on arrival. */
const RESULTS_PRELOAD_MARGIN_PX = 200;

function Section({
  title,
  action,
  children,
}: {
  title: string;
  action?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Box component="section" sx={{ mb: 4 }}>
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 1.5 }}>
        <Typography variant="h2">{title}</Typography>
        {action}
      </Stack>
      {children}
    </Box>
  );
}

export function MonitorDetail({ monitor }: { monitor: Monitor }) {
  // The window lives in the address (?window=30d), so a link or a reload keeps it.
  const [searchParams, setSearchParams] = useSearchParams();
  const window = parseWindow(searchParams.get("window"));
  const setWindow = (next: UptimeWindow) =>
    setSearchParams(next === DEFAULT_WINDOW ? {} : { window: next }, { replace: true });
  const uptime = useUptime(monitor.id, window);
  const latency = useLatency(monitor.id, window);
  const picker = <WindowPicker value={window} onChange={setWindow} />;
  // Incidents and raw results sit below the fold. Their requests wait for the first screen's
  // data, so they do not compete with it for the server, and the results (50 rows to render)
  // also wait until the user scrolls near them.
  const isFirstScreenLoaded = !uptime.isPending && !latency.isPending;
  const resultsRef = useRef<HTMLDivElement>(null);
  const isResultsNear = useNearViewport(resultsRef, RESULTS_PRELOAD_MARGIN_PX);

  return (
    <Box>
      <MonitorHeader monitor={monitor} status={uptime.data?.status ?? null} />
      <Section title="Regions" action={picker}>
        {uptime.isPending && <Skeleton variant="rectangular" height={120} />}
        {uptime.isError && (
          <ErrorState error={uptime.error} onRetry={() => void uptime.refetch()} />
        )}
        {uptime.data && <RegionUptimeTable uptime={uptime.data} />}
      </Section>
      <Section title={`Latency (p50 and p95), ${window}`}>
        <Paper variant="outlined" sx={{ p: 2 }}>
          <LatencyPanel monitorId={monitor.id} window={window} />
        </Paper>
      </Section>
      <Section title="Incidents">
        <IncidentList monitorId={monitor.id} isEnabled={isFirstScreenLoaded} />
      </Section>
      <Section title="Recent checks">
        <div ref={resultsRef}>
          <ResultsTable
            monitorId={monitor.id}
            regions={monitor.regions}
            isEnabled={isFirstScreenLoaded && isResultsNear}
          />
        </div>
      </Section>
    </Box>
  );
}
