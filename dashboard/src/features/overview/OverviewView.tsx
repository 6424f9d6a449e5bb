import AddIcon from "@mui/icons-material/Add";
import { Box, Button, TablePagination } from "@mui/material";
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

// Rendering 1,000 rows with chips and sparklines blocks the main thread for seconds, so the
// table shows one page at a time. Filtering and sorting still cover every monitor.
const ROWS_PER_PAGE_OPTIONS = [50, 100, 250];

/** Filterable, sortable list of monitors; the state lives here so polling keeps it. */
export function OverviewView({ items }: { items: OverviewItem[] }) {
  const [filter, setFilter] = useState<OverviewFilter>({ search: "", tags: [] });
  const [sortKey, setSortKey] = useState<SortKey>("status");
  const [sortDirection, setSortDirection] = useState<SortDirection>("asc");
  const [page, setPage] = useState(0);
  const [rowsPerPage, setRowsPerPage] = useState(ROWS_PER_PAGE_OPTIONS[0]);

  const allTags = useMemo(() => collectTags(items), [items]);
  const visible = useMemo(
    () => sortOverview(filterOverview(items, filter), sortKey, sortDirection),
    [items, filter, sortKey, sortDirection],
  );
  // A poll or a filter can shrink the list below the current page.
  const lastPage = Math.max(0, Math.ceil(visible.length / rowsPerPage) - 1);
  const currentPage = Math.min(page, lastPage);
  const pageItems = visible.slice(currentPage * rowsPerPage, (currentPage + 1) * rowsPerPage);

  const handleFilter = (next: OverviewFilter) => {
    setFilter(next);
    setPage(0);
  };

  const handleSort = (key: SortKey) => {
    if (key === sortKey) {
      setSortDirection(sortDirection === "asc" ? "desc" : "asc");
      setPage(0);
      return;
    }
    setPage(0);
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
      <OverviewToolbar filter={filter} allTags={allTags} onChange={handleFilter} />
      {visible.length === 0 ? (
        <EmptyState title="No monitor matches">Clear the search or the tag filter.</EmptyState>
      ) : (
        <OverviewTable
          items={pageItems}
          sortKey={sortKey}
          sortDirection={sortDirection}
          onSort={handleSort}
        />
      )}
      <TablePagination
        component="div"
        count={visible.length}
        page={currentPage}
        onPageChange={(_event, next) => setPage(next)}
        rowsPerPage={rowsPerPage}
        rowsPerPageOptions={ROWS_PER_PAGE_OPTIONS}
        onRowsPerPageChange={(event) => {
          setRowsPerPage(Number(event.target.value));
          setPage(0);
        }}
        labelRowsPerPage="Rows"
        labelDisplayedRows={({ from, to, count }) =>
          count < items.length
            ? `${from}–${to} of ${count} matching, ${items.length} monitors in all`
            : `${from}–${to} of ${count} monitors`
        }
        aria-live="polite"
      />
    </Box>
  );
}
