import { Link, Typography } from "@mui/material";
import { Link as RouterLink, useParams } from "react-router-dom";
import { useMonitor } from "../api/hooks/monitors";
import { ErrorState, LoadingState } from "../components/QueryState";
import { MonitorDetail } from "../features/monitor/MonitorDetail";

export function MonitorPage() {
  const { monitorId = "" } = useParams();
  const monitor = useMonitor(monitorId);
  return (
    <>
      <Typography variant="body2" sx={{ mb: 1 }}>
        <Link component={RouterLink} to="/">
          ← Overview
        </Link>
      </Typography>
      {monitor.isPending && <LoadingState label="Loading monitor…" />}
      {monitor.isError && (
        <ErrorState error={monitor.error} onRetry={() => void monitor.refetch()} />
      )}
      {monitor.data && <MonitorDetail monitor={monitor.data} />}
    </>
  );
}
