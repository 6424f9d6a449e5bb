import AddIcon from "@mui/icons-material/Add";
import { Box, Button, Typography } from "@mui/material";
import { useMemo, useState } from "react";
import { Link as RouterLink } from "react-router-dom";
import type { OverviewItem } from "../../api/types";
import { EmptyState } from "../../components/QueryState";
import { OverviewTable } from "./OverviewTable";
import { OverviewToolbar } from "./OverviewToolbar";
import {
  collectTags,
  filterOverview,
  sortOverview,
  type OverviewFilter,
  type SortDirection,
  type SortKey,
} from "./shape";

/** Filterable, sortable list of monitors; the state lives here so polling keeps it. */
export function OverviewView({ items }: { items: OverviewItem[] }) {
  const [filter, setFilter] = useState<OverviewFilter>({ search: "", tags: [] });
  const [sortKey, setSortKey] = useState<SortKey>("status");
  const [sortDirection, setSortDirection] = useState<SortDirection>("asc");

  const allTags = useMemo(() => collectTags(items), [items]);
  const visible = useMemo(
    () => sortOverview(filterOverview(items, filter), sortKey, sortDirection),
    [items, filter, sortKey, sortDirection],
  );

  const handleSort = (key: SortKey) => {
    if (key === sortKey) {
      setSortDirection(sortDirection === "asc" ? "desc" : "asc");
      return;
    }
    setSortKey(key);
    // Uptime and latency read best with the largest first; names and states from the top.
    setSortDirection(key === "name" || key === "status" ? "asc" : "desc");
  };

  if (items.length === 0) {
    return (
      <EmptyState
        title="No monitors yet"
        action={
          <Button
            component={RouterLink}
            to="/monitors/new"
            variant="contained"
            startIcon={<AddIcon />}
          >
            Create your first monitor
          </Button>
        }
      >
        A monitor checks a URL or host from every region you pick.
      </EmptyState>
    );
  }

  return (
    <Box>
      <OverviewToolbar filter={filter} allTags={allTags} onChange={setFilter} />
      {visible.length === 0 ? (
        <EmptyState title="No monitor matches">Clear the search or the tag filter.</EmptyState>
      ) : (
        <OverviewTable
          items={visible}
          sortKey={sortKey}
          sortDirection={sortDirection}
          onSort={handleSort}
        />
      )}
      <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }} aria-live="polite">
        {visible.length} of {items.length} monitors
      </Typography>
    </Box>
  );
}
