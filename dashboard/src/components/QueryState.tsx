import { Alert, Box, Button, CircularProgress, Paper, Typography } from "@mui/material";
import type { ReactNode } from "react";
import { errorMessage } from "../api/problem";

export function LoadingState({ label = "Loading…" }: { label?: string }) {
  return (
    <Box role="status" sx={{ display: "flex", alignItems: "center", gap: 2, p: 4 }}>
      <CircularProgress size={24} />
      <Typography color="text.secondary">{label}</Typography>
    </Box>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <Alert
      severity="error"
      action={
        onRetry && (
          <Button color="inherit" size="small" onClick={onRetry}>
            Retry
          </Button>
        )
      }
    >
      {errorMessage(error)}
    </Alert>
  );
}

export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <Paper variant="outlined" sx={{ p: 4, textAlign: "center" }}>
      {/* A heading under the page's h1, so screen-reader users can jump to the message. */}
      <Typography variant="h3" component="h2" gutterBottom>
        {title}
      </Typography>
      {children && <Typography color="text.secondary">{children}</Typography>}
      {action && <Box sx={{ mt: 2 }}>{action}</Box>}
    </Paper>
  );
}
