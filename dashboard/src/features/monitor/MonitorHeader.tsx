import {
  Alert,
  Box,
  Button,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Stack,
  Typography,
} from "@mui/material";
import { useState } from "react";
import { Link as RouterLink, useNavigate } from "react-router-dom";
import { useDeleteMonitor, useSetPaused } from "../../api/hooks/monitors";
import { errorMessage } from "../../api/problem";
import type { Monitor, MonitorStatus } from "../../api/types";
import { StatusChip } from "../../components/StatusChip";

export function MonitorHeader({
  monitor,
  status,
}: {
  monitor: Monitor;
  status: MonitorStatus | null;
}) {
  const navigate = useNavigate();
  const setPaused = useSetPaused(monitor.id);
  const deleteMonitor = useDeleteMonitor();
  const [isConfirmOpen, setConfirmOpen] = useState(false);
  const actionError = setPaused.error ?? deleteMonitor.error;

  const handleDelete = () => {
    deleteMonitor.mutate(monitor.id, { onSuccess: () => navigate("/", { replace: true }) });
  };

  return (
    <Box sx={{ mb: 3 }}>
      <Stack direction={{ xs: "column", sm: "row" }} spacing={2} alignItems={{ sm: "center" }}>
        <Box sx={{ flex: 1, minWidth: 0 }}>
          <Stack direction="row" spacing={1} alignItems="center">
            {status && <StatusChip status={monitor.paused ? "paused" : status} size="medium" />}
            <Typography variant="h1" noWrap>
              {monitor.name}
            </Typography>
          </Stack>
          <Typography color="text.secondary" sx={{ mt: 0.5, wordBreak: "break-all" }}>
            {monitor.kind.toUpperCase()} · {monitor.url ?? monitor.target} · every{" "}
            {monitor.interval_seconds} s, timeout {monitor.timeout_seconds} s
          </Typography>
          {monitor.tags.length > 0 && (
            <Stack direction="row" spacing={0.5} sx={{ mt: 1 }} flexWrap="wrap" useFlexGap>
              {monitor.tags.map((tag) => (
                <Chip key={tag} label={tag} size="small" variant="outlined" />
              ))}
            </Stack>
          )}
        </Box>
        <Stack direction="row" spacing={1}>
          <Button component={RouterLink} to={`/monitors/${monitor.id}/edit`} variant="outlined">
            Edit
          </Button>
          <Button
            variant="outlined"
            onClick={() => setPaused.mutate(!monitor.paused)}
            disabled={setPaused.isPending}
          >
            {monitor.paused ? "Resume" : "Pause"}
          </Button>
          <Button variant="outlined" color="error" onClick={() => setConfirmOpen(true)}>
            Delete
          </Button>
        </Stack>
      </Stack>
      {actionError && (
        <Alert severity="error" sx={{ mt: 2 }}>
          {errorMessage(actionError)}
        </Alert>
      )}
      <Dialog open={isConfirmOpen} onClose={() => setConfirmOpen(false)}>
        <DialogTitle>Delete {monitor.name}?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            The monitor stops at once and its history is removed. This cannot be undone.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirmOpen(false)} autoFocus>
            Cancel
          </Button>
          <Button color="error" onClick={handleDelete} disabled={deleteMonitor.isPending}>
            Delete
          </Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}
