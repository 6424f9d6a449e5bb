import { Button } from "@mui/material";
import { Link as RouterLink } from "react-router-dom";
import { EmptyState } from "../components/QueryState";

export function NotFoundPage() {
  return (
    <EmptyState
      title="Page not found"
      action={
        <Button component={RouterLink} to="/">
          Go to the overview
        </Button>
      }
    >
      The address may be mistyped, or the item was deleted.
    </EmptyState>
  );
}
