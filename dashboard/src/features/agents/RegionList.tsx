import { Box, Paper, Typography } from "@mui/material";
import type { Region } from "../../api/types";
import { StatusChip } from "../../components/StatusChip";

export function RegionList({ regions }: { regions: Region[] }) {
  if (regions.length === 0) {
    return (
      <Typography color="text.secondary">No regions yet: enrol an agent to add one.</Typography>
    );
  }
  return (
    <Box
      sx={{
        display: "grid",
        gap: 1.5,
        gridTemplateColumns: "repeat(auto-fill, minmax(200px, 1fr))",
      }}
    >
      {regions.map((region) => (
        <Paper key={region.name} variant="outlined" sx={{ p: 2 }}>
          <Typography variant="h3" component="p" sx={{ mb: 1 }}>
            {region.name}
          </Typography>
          <StatusChip
            status={region.has_coverage ? "up" : "no_coverage"}
            label={region.has_coverage ? "Covered" : "No coverage"}
          />
          <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
            {region.agents_live} of {region.agents_total} agents live
          </Typography>
        </Paper>
      ))}
    </Box>
  );
}
