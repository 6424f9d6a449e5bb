import AddIcon from "@mui/icons-material/Add";
import { Box, Button, Stack, Typography } from "@mui/material";
import { useState } from "react";
import { useAgents, useRegions } from "../api/hooks/agents";
import { ErrorState, LoadingState } from "../components/QueryState";
import { AgentTable } from "../features/agents/AgentTable";
import { EnrolAgentDialog } from "../features/agents/EnrolAgentDialog";
import { RegionList } from "../features/agents/RegionList";

export function RegionsPage() {
  const regions = useRegions();
  const agents = useAgents();
  const [isEnrolOpen, setEnrolOpen] = useState(false);

  return (
    <>
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 2 }}>
        <Typography variant="h1">Regions & agents</Typography>
        <Button variant="contained" startIcon={<AddIcon />} onClick={() => setEnrolOpen(true)}>
          Enrol agent
        </Button>
      </Stack>
      <Box component="section" sx={{ mb: 4 }}>
        <Typography variant="h2" sx={{ mb: 1.5 }}>
          Regions
        </Typography>
        {regions.isPending && <LoadingState />}
        {regions.isError && (
          <ErrorState error={regions.error} onRetry={() => void regions.refetch()} />
        )}
        {regions.data && <RegionList regions={regions.data.items} />}
      </Box>
      <Box component="section">
        <Typography variant="h2" sx={{ mb: 1.5 }}>
          Agents
        </Typography>
        {agents.isPending && <LoadingState />}
        {agents.isError && (
          <ErrorState error={agents.error} onRetry={() => void agents.refetch()} />
        )}
        {agents.data && <AgentTable agents={agents.data.items} />}
      </Box>
      <EnrolAgentDialog
        open={isEnrolOpen}
        knownRegions={regions.data?.items.map((region) => region.name) ?? []}
        onClose={() => setEnrolOpen(false)}
      />
    </>
  );
}
