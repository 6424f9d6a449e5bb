import {
  Alert,
  Button,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Typography,
} from "@mui/material";
import { useRevokeAgent } from "../../api/hooks/agents";
import { errorMessage } from "../../api/problem";
import type { Agent, AgentStatus, Status } from "../../api/types";
import { StatusChip } from "../../components/StatusChip";
import { Time } from "../../components/Time";

/** Agent connection states drawn with the shared status colours. */
const AGENT_STATUS: Record<AgentStatus, { status: Status; label: string }> = {
  connected: { status: "up", label: "Connected" },
  disconnected: { status: "down", label: "Disconnected" },
  revoked: { status: "paused", label: "Revoked" },
};

export function AgentTable({ agents }: { agents: Agent[] }) {
  const revoke = useRevokeAgent();
  if (agents.length === 0) {
    return <Typography color="text.secondary">No agents enrolled.</Typography>;
  }

  return (
    <>
      {revoke.error && (
        <Alert severity="error" sx={{ mb: 1 }}>
          {errorMessage(revoke.error)}
        </Alert>
      )}
      <TableContainer component={Paper} variant="outlined">
        <Table size="small" aria-label="Agents">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Region</TableCell>
              <TableCell>State</TableCell>
              <TableCell>Last seen</TableCell>
              <TableCell>Version</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {agents.map((agent) => (
              <TableRow key={agent.id}>
                <TableCell>{agent.name}</TableCell>
                <TableCell>{agent.region}</TableCell>
                <TableCell>
                  <StatusChip
                    status={AGENT_STATUS[agent.status].status}
                    label={AGENT_STATUS[agent.status].label}
                  />
                </TableCell>
                <TableCell sx={{ whiteSpace: "nowrap" }}>
                  <Time value={agent.last_seen_at} relative />
                </TableCell>
                <TableCell>{agent.version ?? "–"}</TableCell>
                <TableCell align="right">
                  {agent.status !== "revoked" && (
                    <Button
                      size="small"
                      color="error"
                      disabled={revoke.isPending}
                      onClick={() => {
                        if (window.confirm(`Revoke agent ${agent.name}? It disconnects at once.`)) {
                          revoke.mutate(agent.id);
                        }
                      }}
                    >
                      Revoke
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
    </>
  );
}
