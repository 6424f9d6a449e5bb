import {
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Typography,
} from "@mui/material";
import { useIncidents } from "../../api/hooks/monitors";
import { ErrorState, LoadingState } from "../../components/QueryState";
import { StatusChip } from "../../components/StatusChip";
import { Time } from "../../components/Time";
import { formatDuration } from "../../lib/format";

/** Lists the incidents of one monitor. Nothing is requested while `isEnabled` is false. */
export function IncidentList({ monitorId, isEnabled }: { monitorId: string; isEnabled: boolean }) {
  const incidents = useIncidents(monitorId, isEnabled);
  if (incidents.isPending) return <LoadingState label="Loading incidents…" />;
  if (incidents.isError) {
    return <ErrorState error={incidents.error} onRetry={() => void incidents.refetch()} />;
  }
  if (incidents.data.items.length === 0) {
    return <Typography color="text.secondary">No incidents recorded.</Typography>;
  }

  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label="Incidents">
        <TableHead>
          <TableRow>
            <TableCell>State</TableCell>
            <TableCell>Opened</TableCell>
            <TableCell>Duration</TableCell>
            <TableCell>Cause</TableCell>
            <TableCell>Acknowledged</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {incidents.data.items.map((incident) => (
            <TableRow key={incident.id}>
              <TableCell>
                <StatusChip
                  status={incident.closed_at ? "up" : "down"}
                  label={incident.closed_at ? "Resolved" : "Open"}
                />
              </TableCell>
              <TableCell sx={{ whiteSpace: "nowrap" }}>
                <Time value={incident.opened_at} />
              </TableCell>
              <TableCell sx={{ whiteSpace: "nowrap" }}>
                {formatDuration(incident.opened_at, incident.closed_at)}
              </TableCell>
              <TableCell sx={{ wordBreak: "break-word" }}>{incident.cause ?? "–"}</TableCell>
              <TableCell sx={{ whiteSpace: "nowrap" }}>
                <Time value={incident.acknowledged_at} />
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}
