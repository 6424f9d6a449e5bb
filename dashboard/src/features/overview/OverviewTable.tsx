import {
  Box,
  Link,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TableSortLabel,
  Typography,
} from "@mui/material";
import { Link as RouterLink } from "react-router-dom";
import type { OverviewItem } from "../../api/types";
import { Sparkline } from "../../components/Sparkline";
import { StatusChip } from "../../components/StatusChip";
import { formatLatency, formatUptime } from "../../lib/format";
import { STATUS_LABELS } from "../../lib/status";
import type { SortDirection, SortKey } from "./shape";

interface Column {
  key: SortKey | null;
  label: string;
  align?: "right";
  /** Hides the column on phones. */
  isWide?: boolean;
}

const COLUMNS: Column[] = [
  { key: "status", label: "State" },
  { key: "name", label: "Monitor" },
  { key: null, label: "Regions" },
  { key: "uptime_24h", label: "24 h", align: "right" },
  { key: "uptime_7d", label: "7 d", align: "right", isWide: true },
  { key: "uptime_30d", label: "30 d", align: "right", isWide: true },
  { key: "latency", label: "Latency", align: "right" },
  { key: null, label: "Trend", isWide: true },
];

const wideOnly = { display: { xs: "none", md: "table-cell" } } as const;

interface OverviewTableProps {
  items: OverviewItem[];
  sortKey: SortKey;
  sortDirection: SortDirection;
  onSort(key: SortKey): void;
}

export function OverviewTable({ items, sortKey, sortDirection, onSort }: OverviewTableProps) {
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label="Monitors">
        <TableHead>
          <TableRow>
            {COLUMNS.map((column) => (
              <TableCell
                key={column.label}
                align={column.align}
                sx={column.isWide ? wideOnly : undefined}
                sortDirection={column.key === sortKey ? sortDirection : false}
              >
                {column.key === null ? (
                  column.label
                ) : (
                  <TableSortLabel
                    active={column.key === sortKey}
                    direction={column.key === sortKey ? sortDirection : "asc"}
                    onClick={() => column.key && onSort(column.key)}
                  >
                    {column.label}
                  </TableSortLabel>
                )}
              </TableCell>
            ))}
          </TableRow>
        </TableHead>
        <TableBody>
          {items.map((item) => (
            <OverviewRow key={item.monitor.id} item={item} />
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function OverviewRow({ item }: { item: OverviewItem }) {
  const { monitor } = item;
  return (
    <TableRow hover>
      <TableCell>
        <StatusChip status={item.status} />
      </TableCell>
      <TableCell sx={{ maxWidth: 320 }}>
        <Link component={RouterLink} to={`/monitors/${monitor.id}`} fontWeight={600}>
          {monitor.name}
        </Link>
        <Typography
          variant="body2"
          color="text.secondary"
          noWrap
          title={monitor.url ?? monitor.target ?? ""}
        >
          {monitor.kind.toUpperCase()} · {monitor.url ?? monitor.target}
        </Typography>
      </TableCell>
      <TableCell>
        <Box sx={{ display: "flex", flexWrap: "wrap", gap: 0.5 }}>
          {item.regions.map((region) => (
            <StatusChip
              key={region.region}
              status={region.status}
              label={region.region}
              tooltip={regionTooltip(region.status, region.last_latency_ms, region.last_error)}
            />
          ))}
        </Box>
      </TableCell>
      <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
        {formatUptime(item.uptime_24h)}
      </TableCell>
      <TableCell align="right" sx={{ ...wideOnly, whiteSpace: "nowrap" }}>
        {formatUptime(item.uptime_7d)}
      </TableCell>
      <TableCell align="right" sx={{ ...wideOnly, whiteSpace: "nowrap" }}>
        {formatUptime(item.uptime_30d)}
      </TableCell>
      <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
        {formatLatency(item.last_latency_ms)}
      </TableCell>
      <TableCell sx={wideOnly}>
        <Sparkline values={item.sparkline} />
      </TableCell>
    </TableRow>
  );
}

function regionTooltip(
  status: keyof typeof STATUS_LABELS,
  latencyMs: number | null,
  lastError: string | null,
): string {
  const parts = [STATUS_LABELS[status]];
  if (latencyMs !== null) parts.push(formatLatency(latencyMs));
  if (lastError) parts.push(lastError);
  return parts.join(" · ");
}
