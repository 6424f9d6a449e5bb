import { Tooltip } from "@mui/material";
import { formatLocalTime, formatRelativeTime, formatUtcTime } from "../lib/format";

interface TimeProps {
  value: string | null;
  /** Shows "3 minutes ago" in place of the full local time. */
  relative?: boolean;
}

/** Renders a time in the viewer's time zone, with the UTC time in a tooltip. */
export function Time({ value, relative = false }: TimeProps) {
  if (!value) return <span>–</span>;
  const text = relative ? formatRelativeTime(value) : formatLocalTime(value);
  const utc = formatUtcTime(value);
  return (
    <Tooltip title={relative ? `${formatLocalTime(value)} (${utc})` : utc}>
      <time dateTime={value} tabIndex={0}>
        {text}
      </time>
    </Tooltip>
  );
}
