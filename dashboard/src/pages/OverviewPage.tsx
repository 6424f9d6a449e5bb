import AddIcon from "@mui/icons-material/Add";
import { Button, Stack, Typography } from "@mui/material";
import { Link as RouterLink } from "react-router-dom";
import { useOverview } from "../api/hooks/overview";
import { ErrorState, LoadingState } from "../components/QueryState";
import { OverviewView } from "../features/overview/OverviewView";

export function OverviewPage() {
  const overview = useOverview();
  return (
    <>
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 2 }}>
        <Typography variant="h1">Overview</Typography>
        <Button
          component={RouterLink}
          to="/monitors/new"
          variant="contained"
          startIcon={<AddIcon />}
        >
          New monitor
        </Button>
      </Stack>
      {overview.isPending && <LoadingState label="Loading monitors…" />}
      {/* A failed poll keeps showing the last data under the error. */}
      {overview.isError && (
        <ErrorState error={overview.error} onRetry={() => void overview.refetch()} />
      )}
      {overview.data && <OverviewView items={overview.data.items} />}
    </>
  );
}
