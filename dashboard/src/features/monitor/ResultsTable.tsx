import KeyboardArrowDownIcon from "@mui/icons-material/KeyboardArrowDown";
import KeyboardArrowUpIcon from "@mui/icons-material/KeyboardArrowUp";
import {
  Box,
  Button,
  Collapse,
  IconButton,
  MenuItem,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from "@mui/material";
import { useState } from "react";
import { useResults } from "../../api/hooks/monitors";
import type { CheckResult } from "../../api/types";
import { ErrorState, LoadingState } from "../../components/QueryState";
import { StatusChip } from "../../components/StatusChip";
import { Time } from "../../components/Time";
import { formatLatency } from "../../lib/format";
import { PHASES } from "../../lib/phases";

interface ResultsTableProps {
  monitorId: string;
  regions: string[];
  /** Nothing is requested while false. */
  isEnabled: boolean;
}

export function ResultsTable({ monitorId, regions, isEnabled }: ResultsTableProps) {
  const [region, setRegion] = useState("");
  const [status, setStatus] = useState("");
  const results = useResults(monitorId, region, status, isEnabled);
  const rows = results.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ mb: 2 }}>
        <TextField
          select
          label="Region"
          value={region}
          onChange={(e) => setRegion(e.target.value)}
          sx={{ minWidth: 140 }}
        >
          <MenuItem value="">All regions</MenuItem>
          {regions.map((name) => (
            <MenuItem key={name} value={name}>
              {name}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          label="Result"
          value={status}
          onChange={(e) => setStatus(e.target.value)}
          sx={{ minWidth: 120 }}
        >
          <MenuItem value="">All</MenuItem>
          <MenuItem value="up">Up</MenuItem>
          <MenuItem value="down">Down</MenuItem>
        </TextField>
      </Stack>
      {results.isPending && <LoadingState label="Loading results…" />}
      {results.isError && (
        <ErrorState error={results.error} onRetry={() => void results.refetch()} />
      )}
      {results.isSuccess && rows.length === 0 && (
        <Typography color="text.secondary">No check results match.</Typography>
      )}
      {rows.length > 0 && (
        <TableContainer component={Paper} variant="outlined">
          <Table size="small" aria-label="Recent check results">
            <TableHead>
              <TableRow>
                <TableCell padding="checkbox" />
                <TableCell>Time</TableCell>
                <TableCell>Region</TableCell>
                <TableCell>Result</TableCell>
                <TableCell align="right">Latency</TableCell>
                <TableCell>Code</TableCell>
                <TableCell>Error</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {rows.map((result) => (
                <ResultRow key={`${result.region}-${result.scheduled_at}`} result={result} />
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {results.hasNextPage && (
        <Button
          sx={{ mt: 1 }}
          onClick={() => void results.fetchNextPage()}
          disabled={results.isFetchingNextPage}
        >
          {results.isFetchingNextPage ? "Loading…" : "Load older results"}
        </Button>
      )}
    </Box>
  );
}

function ResultRow({ result }: { result: CheckResult }) {
  const [isOpen, setOpen] = useState(false);
  const error = [result.error_class, result.error_message].filter(Boolean).join(": ");

  return (
    <>
      <TableRow hover>
        <TableCell padding="checkbox">
          <IconButton
            size="small"
            aria-label={isOpen ? "Hide details" : "Show details"}
            aria-expanded={isOpen}
            onClick={() => setOpen(!isOpen)}
          >
            {isOpen ? <KeyboardArrowUpIcon /> : <KeyboardArrowDownIcon />}
          </IconButton>
        </TableCell>
        <TableCell sx={{ whiteSpace: "nowrap" }}>
          <Time value={result.started_at ?? result.scheduled_at} />
        </TableCell>
        <TableCell>{result.region}</TableCell>
        <TableCell>
          <StatusChip status={result.status} />
        </TableCell>
        <TableCell align="right">{formatLatency(result.latency_ms)}</TableCell>
        <TableCell>{result.status_code ?? "–"}</TableCell>
        <TableCell sx={{ maxWidth: 360 }}>
          <Typography variant="body2" color="error" noWrap title={error}>
            {error}
          </Typography>
        </TableCell>
      </TableRow>
      <TableRow>
        <TableCell colSpan={7} sx={{ py: 0, borderBottom: isOpen ? undefined : "none" }}>
          <Collapse in={isOpen} unmountOnExit>
            <ResultDetails result={result} error={error} />
          </Collapse>
        </TableCell>
      </TableRow>
    </>
  );
}

function ResultDetails({ result, error }: { result: CheckResult; error: string }) {
  const phases = result.phases;
  const total = phases ? PHASES.reduce((sum, phase) => sum + (phases[phase.key] ?? 0), 0) : 0;

  return (
    <Box sx={{ py: 2 }}>
      {error && (
        <Typography variant="body2" color="error" sx={{ mb: 1, wordBreak: "break-word" }}>
          {error}
        </Typography>
      )}
      <Typography variant="body2" color="text.secondary">
        Scheduled <Time value={result.scheduled_at} />
      </Typography>
      {phases && total > 0 ? (
        <Box sx={{ mt: 1 }} aria-label="Phase breakdown">
          <Box sx={{ display: "flex", height: 10, borderRadius: 1, overflow: "hidden", mb: 1 }}>
            {PHASES.map((phase, index) => {
              const value = phases[phase.key] ?? 0;
              if (value <= 0) return null;
              return (
                <Box
                  key={phase.key}
                  title={`${phase.label}: ${formatLatency(value)}`}
                  sx={{
                    width: `${(value / total) * 100}%`,
                    bgcolor: `primary.main`,
                    opacity: 1 - index * 0.15,
                  }}
                />
              );
            })}
          </Box>
          <Stack direction="row" spacing={2} flexWrap="wrap" useFlexGap>
            {PHASES.map((phase) => (
              <Typography key={phase.key} variant="body2">
                {phase.label}: <strong>{formatLatency(phases[phase.key])}</strong>
              </Typography>
            ))}
          </Stack>
        </Box>
      ) : (
        <Typography variant="body2" color="text.secondary">
          No phase timings for this check.
        </Typography>
      )}
    </Box>
  );
}
