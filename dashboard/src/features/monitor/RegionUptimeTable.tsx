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
import type { RegionUptime, Uptime } from "../../api/types";
import { StatusChip } from "../../components/StatusChip";
import { Time } from "../../components/Time";
import { formatLatency, formatPercent, formatUptime } from "../../lib/format";

export function RegionUptimeTable({ uptime }: { uptime: Uptime }) {
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label={`Uptime per region over ${uptime.window}`}>
        <TableHead>
          <TableRow>
            <TableCell>Region</TableCell>
            <TableCell>State</TableCell>
            <TableCell align="right">Uptime</TableCell>
            <TableCell align="right">Coverage</TableCell>
            <TableCell align="right">Checks</TableCell>
            <TableCell align="right">p50</TableCell>
            <TableCell align="right">p95</TableCell>
            <TableCell align="right">p99</TableCell>
            <TableCell>Last check</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          <TableRow sx={{ "& td": { fontWeight: 600 } }}>
            <TableCell>All regions</TableCell>
            <TableCell>
              <StatusChip status={uptime.status} />
            </TableCell>
            <TableCell align="right">{formatUptime(uptime.uptime)}</TableCell>
            <TableCell align="right">{formatPercent(uptime.coverage)}</TableCell>
            <TableCell align="right">
              {uptime.regions.reduce((sum, region) => sum + region.checks, 0)}
            </TableCell>
            <TableCell align="right">{formatLatency(uptime.latency_ms?.p50)}</TableCell>
            <TableCell align="right">{formatLatency(uptime.latency_ms?.p95)}</TableCell>
            <TableCell align="right">{formatLatency(uptime.latency_ms?.p99)}</TableCell>
            <TableCell />
          </TableRow>
          {uptime.regions.map((region) => (
            <RegionRow key={region.region} region={region} />
          ))}
        </TableBody>
      </Table>
      {uptime.regions.length === 0 && (
        <Typography color="text.secondary" sx={{ p: 2 }}>
          This monitor runs in no region yet.
        </Typography>
      )}
    </TableContainer>
  );
}

function RegionRow({ region }: { region: RegionUptime }) {
  return (
    <TableRow>
      <TableCell>{region.region}</TableCell>
      <TableCell>
        <StatusChip status={region.status} />
      </TableCell>
      <TableCell align="right">{formatUptime(region.uptime)}</TableCell>
      <TableCell align="right">{formatPercent(region.coverage)}</TableCell>
      <TableCell align="right">{region.checks}</TableCell>
      <TableCell align="right">{formatLatency(region.latency_ms?.p50)}</TableCell>
      <TableCell align="right">{formatLatency(region.latency_ms?.p95)}</TableCell>
      <TableCell align="right">{formatLatency(region.latency_ms?.p99)}</TableCell>
      <TableCell sx={{ whiteSpace: "nowrap" }}>
        <Time value={region.last_checked_at} relative />
      </TableCell>
    </TableRow>
  );
}
