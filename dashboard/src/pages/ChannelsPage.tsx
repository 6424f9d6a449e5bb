import AddIcon from "@mui/icons-material/Add";
import { Alert, Button, Snackbar, Stack, Typography } from "@mui/material";
import { useState } from "react";
import { useChannels } from "../api/hooks/channels";
import { ErrorState, LoadingState } from "../components/QueryState";
import { ChannelTable } from "../features/channels/ChannelTable";
import { CreateChannelDialog } from "../features/channels/CreateChannelDialog";

export function ChannelsPage() {
  const channels = useChannels();
  const [isCreateOpen, setCreateOpen] = useState(false);
  const [testResult, setTestResult] = useState<{ message: string; isError: boolean } | null>(null);

  return (
    <>
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 2 }}>
        <Typography variant="h1">Notification channels</Typography>
        <Button variant="contained" startIcon={<AddIcon />} onClick={() => setCreateOpen(true)}>
          Add channel
        </Button>
      </Stack>
      {channels.isPending && <LoadingState />}
      {channels.isError && (
        <ErrorState error={channels.error} onRetry={() => void channels.refetch()} />
      )}
      {channels.data && (
        <ChannelTable
          channels={channels.data.items}
          onTestResult={(message, isError) => setTestResult({ message, isError })}
        />
      )}
      <CreateChannelDialog open={isCreateOpen} onClose={() => setCreateOpen(false)} />
      <Snackbar
        open={testResult !== null}
        autoHideDuration={6000}
        onClose={() => setTestResult(null)}
      >
        <Alert
          severity={testResult?.isError ? "error" : "success"}
          onClose={() => setTestResult(null)}
        >
          {testResult?.message}
        </Alert>
      </Snackbar>
    </>
  );
}
