import {
  Alert,
  Box,
  Button,
  LinearProgress,
  List,
  ListItem,
  ListItemText,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Typography,
} from "@mui/material";
import { useEffect, useState } from "react";
import { StatusChip } from "../../components/StatusChip";
import { Time } from "../../components/Time";
import { formatLatency } from "../../lib/format";
import { formatPhases, shapeTestRun, type TestRunView } from "./shape";
import type { TestRunState } from "./useTestRun";

/**
 * Current time in milliseconds, updated when `state` changes and then every second while
 * `isTicking` is true.
 */
function useNow(state: TestRunState, isTicking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!isTicking) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state, isTicking]);
  return now;
}

/** Progress, outcome or error of a "test now" run, shown under the monitor form. */
export function TestRunPanel({ state, onCancel }: { state: TestRunState; onCancel(): void }) {
  const isTicking =
    state.phase === "running" || (state.phase === "failed" && state.retryAt !== null);
  const now = useNow(state, isTicking);

  switch (state.phase) {
    case "idle":
      return null;
    case "running": {
      const elapsedSeconds = Math.max(0, Math.floor((now - state.startedAt) / 1000));
      const percent = Math.min(100, (elapsedSeconds / state.maxWaitSeconds) * 100);
      return (
        <Box role="status" aria-live="polite">
          <Stack direction="row" alignItems="center" spacing={2} sx={{ mb: 1 }}>
            <Typography variant="body2" sx={{ flex: 1 }}>
              Running the {state.target === "saved" ? "saved monitor" : "unsaved settings"} in{" "}
              {state.regions.join(", ")}: {elapsedSeconds} s of at most {state.maxWaitSeconds} s
            </Typography>
            <Button size="small" onClick={onCancel}>
              Stop waiting
            </Button>
          </Stack>
          <LinearProgress variant="determinate" value={percent} aria-label="Test run progress" />
        </Box>
      );
    }
    case "failed": {
      const waitSeconds =
        // `now` is a tick behind on the first render after the response.
        state.retryAt === null
          ? 0
          : Math.max(0, Math.ceil((state.retryAt - Math.max(now, Date.now())) / 1000));
      if (state.retryAt !== null) {
        // The server's message carries a countdown frozen at the response time.
        return (
          <Alert severity="warning">
            Too many test runs in this organisation.{" "}
            {waitSeconds > 0
              ? `You can test again in ${waitSeconds} s.`
              : "You can test again now."}
          </Alert>
        );
      }
      return <Alert severity="error">Test run failed: {state.message}</Alert>;
    }
    case "done":
      return (
        <TestRunResults
          view={shapeTestRun(state.run)}
          note={
            state.target === "saved"
              ? "Tested the saved monitor. Test results are not stored."
              : "Tested the settings in the form, which are not saved yet. Test results are not stored."
          }
        />
      );
  }
}

export function TestRunResults({ view, note }: { view: TestRunView; note: string }) {
  return (
    <Stack spacing={1.5} component="section" aria-label="Test results">
      <Alert severity={view.severity}>
        <strong>{view.summary}</strong> {note}
      </Alert>
      {view.rows.length > 0 && (
        <TableContainer component={Paper} variant="outlined">
          <Table size="small" aria-label="Test results per region">
            <TableHead>
              <TableRow>
                <TableCell>Region</TableCell>
                <TableCell>Result</TableCell>
                <TableCell align="right">Latency</TableCell>
                <TableCell>Code</TableCell>
                <TableCell>Phases</TableCell>
                <TableCell>Error</TableCell>
                <TableCell>Started</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {view.rows.map((row) => (
                <TableRow key={row.region}>
                  <TableCell>{row.region}</TableCell>
                  <TableCell>
                    <StatusChip status={row.status} />
                  </TableCell>
                  <TableCell align="right">{formatLatency(row.latencyMs)}</TableCell>
                  <TableCell>{row.statusCode ?? "–"}</TableCell>
                  <TableCell sx={{ minWidth: 180 }}>{formatPhases(row.phases)}</TableCell>
                  <TableCell sx={{ minWidth: 160, wordBreak: "break-word" }}>
                    {row.error ? (
                      <Typography variant="body2" color="error">
                        {row.error}
                      </Typography>
                    ) : (
                      "–"
                    )}
                  </TableCell>
                  <TableCell sx={{ whiteSpace: "nowrap" }}>
                    <Time value={row.startedAt} />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {view.missing.length > 0 && (
        <Paper variant="outlined">
          <Typography variant="body2" sx={{ px: 2, pt: 1.5, fontWeight: 600 }}>
            Regions without a result
          </Typography>
          <List dense aria-label="Regions without a result">
            {view.missing.map((entry) => (
              <ListItem key={entry.region}>
                <ListItemText primary={entry.region} secondary={entry.explanation} />
              </ListItem>
            ))}
          </List>
        </Paper>
      )}
    </Stack>
  );
}
