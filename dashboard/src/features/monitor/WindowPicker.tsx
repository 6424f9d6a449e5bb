import { ToggleButton, ToggleButtonGroup } from "@mui/material";
import type { UptimeWindow } from "../../api/types";
import { WINDOWS } from "./windows";

export function WindowPicker({
  value,
  onChange,
}: {
  value: UptimeWindow;
  onChange(window: UptimeWindow): void;
}) {
  return (
    <ToggleButtonGroup
      size="small"
      exclusive
      value={value}
      onChange={(_event, next: UptimeWindow | null) => next && onChange(next)}
      aria-label="Time window"
    >
      {WINDOWS.map((window) => (
        <ToggleButton key={window} value={window}>
          {window}
        </ToggleButton>
      ))}
    </ToggleButtonGroup>
  );
}
