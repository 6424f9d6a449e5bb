import { Chip, Tooltip, useTheme } from "@mui/material";
import type { Status } from "../api/types";
import { STATUS_LABELS } from "../lib/status";
import { statusColor } from "../theme";

interface StatusChipProps {
  status: Status;
  /** Text shown in place of the status label, e.g. a region name. */
  label?: string;
  tooltip?: string;
  size?: "small" | "medium";
}

export function StatusChip({ status, label, tooltip, size = "small" }: StatusChipProps) {
  const theme = useTheme();
  const color = statusColor(status, theme.palette.mode);
  const text = label ?? STATUS_LABELS[status];
  const isHollow = status === "no_coverage" || status === "no_data";

  const chip = (
    <Chip
      size={size}
      label={text}
      // The label carries the state for screen readers when the chip shows a region name.
      aria-label={label ? `${label}: ${STATUS_LABELS[status]}` : text}
      variant={isHollow ? "outlined" : "filled"}
      sx={
        isHollow
          ? {
              borderColor: color,
              color,
              borderStyle: status === "no_coverage" ? "dashed" : "solid",
            }
          : { bgcolor: color, color: theme.palette.getContrastText(color) }
      }
    />
  );
  if (!tooltip) return chip;
  return (
    <Tooltip title={tooltip}>
      <span>{chip}</span>
    </Tooltip>
  );
}
