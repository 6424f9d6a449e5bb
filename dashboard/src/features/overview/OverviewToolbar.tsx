import SearchIcon from "@mui/icons-material/Search";
import { Autocomplete, InputAdornment, Stack, TextField } from "@mui/material";
import type { OverviewFilter } from "./shape";

interface OverviewToolbarProps {
  filter: OverviewFilter;
  allTags: string[];
  onChange(filter: OverviewFilter): void;
}

export function OverviewToolbar({ filter, allTags, onChange }: OverviewToolbarProps) {
  return (
    <Stack direction={{ xs: "column", sm: "row" }} spacing={2} sx={{ mb: 2 }}>
      <TextField
        label="Search"
        placeholder="Name, URL, host or tag"
        value={filter.search}
        onChange={(event) => onChange({ ...filter, search: event.target.value })}
        sx={{ flex: 1, minWidth: 200 }}
        slotProps={{
          input: {
            startAdornment: (
              <InputAdornment position="start">
                <SearchIcon fontSize="small" />
              </InputAdornment>
            ),
          },
        }}
      />
      <Autocomplete
        multiple
        size="small"
        options={allTags}
        value={filter.tags}
        onChange={(_event, tags) => onChange({ ...filter, tags })}
        renderInput={(params) => <TextField {...params} label="Tags" />}
        sx={{ flex: 1, minWidth: 200 }}
        noOptionsText="No tags"
      />
    </Stack>
  );
}
