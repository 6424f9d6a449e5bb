import {
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
import { useTestChannel } from "../../api/hooks/channels";
import { errorMessage } from "../../api/problem";
import type { Channel } from "../../api/types";

/** Short description of where a channel sends, without its secret. */
export function channelDestination(channel: Channel): string {
  const { config } = channel;
  for (const key of ["url", "address", "to", "email"]) {
    const value = config[key];
    if (typeof value === "string" && value !== "") return value;
  }
  return "–";
}

interface ChannelTableProps {
  channels: Channel[];
  onTestResult(message: string, isError: boolean): void;
}

export function ChannelTable({ channels, onTestResult }: ChannelTableProps) {
  const test = useTestChannel();
  if (channels.length === 0) {
    return <Typography color="text.secondary">No channels yet.</Typography>;
  }

  const handleTest = (channel: Channel) => {
    test.mutate(channel.id, {
      onSuccess: () => onTestResult(`Test notification sent to ${channel.name}.`, false),
      onError: (error) =>
        onTestResult(`Test to ${channel.name} failed: ${errorMessage(error)}`, true),
    });
  };

  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label="Notification channels">
        <TableHead>
          <TableRow>
            <TableCell>Name</TableCell>
            <TableCell>Kind</TableCell>
            <TableCell>Destination</TableCell>
            <TableCell />
          </TableRow>
        </TableHead>
        <TableBody>
          {channels.map((channel) => (
            <TableRow key={channel.id}>
              <TableCell>{channel.name}</TableCell>
              <TableCell>{channel.kind}</TableCell>
              <TableCell sx={{ wordBreak: "break-all" }}>{channelDestination(channel)}</TableCell>
              <TableCell align="right">
                <Button
                  size="small"
                  onClick={() => handleTest(channel)}
                  disabled={test.isPending && test.variables === channel.id}
                >
                  {test.isPending && test.variables === channel.id ? "Sending…" : "Send test"}
                </Button>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}
