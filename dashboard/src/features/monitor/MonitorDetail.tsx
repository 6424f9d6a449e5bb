import { Box, Paper, Skeleton, Stack, Typography } from "@mui/material";
import type { ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import { useUptime } from "../../api/hooks/monitors";
import type { Monitor, UptimeWindow } from "../../api/types";
import { ErrorState } from "../../components/QueryState";
import { IncidentList } from "./IncidentList";
import { LatencyPanel } from "./LatencyPanel";
import { MonitorHeader } from "./MonitorHeader";
import { RegionUptimeTable } from "./RegionUptimeTable";
import { ResultsTable } from "./ResultsTable";
import { WINDOWS, WindowPicker } from "./WindowPicker";

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

function parseWindow(value: string | null): UptimeWindow {
  return WINDOWS.find((window) => window === value) ?? "24h";
}

export function MonitorDetail({ monitor }: { monitor: Monitor }) {
  // The window lives in the address (?window=30d), so a link or a reload keeps it.
  const [searchParams, setSearchParams] = useSearchParams();
  const window = parseWindow(searchParams.get("window"));
  const setWindow = (next: UptimeWindow) =>
    setSearchParams(next === "24h" ? {} : { window: next }, { replace: true });
  const uptime = useUptime(monitor.id, window);
  const picker = <WindowPicker value={window} onChange={setWindow} />;

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
      <Section title={`Latency (p50), ${window}`}>
        <Paper variant="outlined" sx={{ p: 2 }}>
          <LatencyPanel monitorId={monitor.id} window={window} />
        </Paper>
      </Section>
      <Section title="Incidents">
        <IncidentList monitorId={monitor.id} />
      </Section>
      <Section title="Recent checks">
        <ResultsTable monitorId={monitor.id} regions={monitor.regions} />
      </Section>
    </Box>
  );
}
