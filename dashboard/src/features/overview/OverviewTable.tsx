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
  useMediaQuery,
  useTheme,
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
  /** Hides the column below the md breakpoint (tablets and phones). */
  isWide?: boolean;
  /** Hides the column below the sm breakpoint, where the row shows it elsewhere or not at all. */
  isHiddenOnPhone?: boolean;
}

const COLUMNS: Column[] = [
  { key: "status", label: "State" },
  { key: "name", label: "Monitor" },
  { key: null, label: "Regions", isHiddenOnPhone: true },
  { key: "uptime_24h", label: "24 h", align: "right" },
  { key: "uptime_7d", label: "7 d", align: "right", isWide: true },
  { key: "uptime_30d", label: "30 d", align: "right", isWide: true },
  { key: "latency", label: "Latency", align: "right", isHiddenOnPhone: true },
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
  // On phones the region chips move under the monitor name, so the table fits 390 px.
  const isPhone = useMediaQuery(useTheme().breakpoints.down("sm"));
  const columns = isPhone ? COLUMNS.filter((column) => !column.isHiddenOnPhone) : COLUMNS;
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label="Monitors">
        <TableHead>
          <TableRow>
            {columns.map((column) => (
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
            <OverviewRow key={item.monitor.id} item={item} isPhone={isPhone} />
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function OverviewRow({ item, isPhone }: { item: OverviewItem; isPhone: boolean }) {
  const { monitor } = item;
  const regionChips = (
    <Box sx={{ display: "flex", flexWrap: "wrap", gap: 0.5, mt: isPhone ? 0.5 : 0 }}>
      {item.regions.map((region) => (
        <StatusChip
          key={region.region}
          status={region.status}
          label={region.region}
          tooltip={regionTooltip(region.status, region.last_latency_ms, region.last_error)}
        />
      ))}
    </Box>
  );
  return (
    <TableRow hover>
      <TableCell>
        <StatusChip status={item.status} />
      </TableCell>
      <TableCell sx={{ maxWidth: { xs: 150, sm: 320 }, wordBreak: "break-word" }}>
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
        {isPhone && regionChips}
      </TableCell>
      {!isPhone && <TableCell>{regionChips}</TableCell>}
      <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
        {formatUptime(item.uptime_24h)}
      </TableCell>
      <TableCell align="right" sx={{ ...wideOnly, whiteSpace: "nowrap" }}>
        {formatUptime(item.uptime_7d)}
      </TableCell>
      <TableCell align="right" sx={{ ...wideOnly, whiteSpace: "nowrap" }}>
        {formatUptime(item.uptime_30d)}
      </TableCell>
      {!isPhone && (
        <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
          {formatLatency(item.last_latency_ms)}
        </TableCell>
      )}
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
