// All design values of the dashboard: palette, status colours, typography, shape and component
// overrides. Components read these through the MUI theme or the exports below.
import { createTheme, type PaletteMode, type Theme } from "@mui/material/styles";
import type { Status } from "./api/types";

/** Colour of every status, per colour mode. This is the only place that maps status to colour. */
export const STATUS_COLORS: Record<Status, Record<PaletteMode, string>> = {
  up: { light: "#1b873f", dark: "#3fb950" },
  down: { light: "#cf222e", dark: "#f85149" },
  degraded: { light: "#b35900", dark: "#d29922" },
  no_data: { light: "#6e7781", dark: "#8b949e" },
  paused: { light: "#57606a", dark: "#6e7681" },
  no_coverage: { light: "#8c959f", dark: "#484f58" },
  unknown: { light: "#6639ba", dark: "#a371f7" },
};

export function statusColor(status: Status, mode: PaletteMode): string {
  return STATUS_COLORS[status][mode];
}

/** Line colours of latency series, one per region in order; they repeat after the last. */
export const SERIES_COLORS = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#0550ae"];

export const LAYOUT = {
  drawerWidth: 220,
  contentMaxWidth: 1280,
  sparklineWidth: 120,
  sparklineHeight: 28,
  chartHeight: 280,
} as const;

export function buildTheme(mode: PaletteMode): Theme {
  const isDark = mode === "dark";
  return createTheme({
    palette: {
      mode,
      primary: { main: isDark ? "#58a6ff" : "#0969da" },
      secondary: { main: isDark ? "#bc8cff" : "#8250df" },
      background: isDark
        ? { default: "#0d1117", paper: "#161b22" }
        : { default: "#f6f8fa", paper: "#ffffff" },
      divider: isDark ? "#30363d" : "#d0d7de",
    },
    shape: { borderRadius: 8 },
    typography: {
      fontFamily:
        'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
      h1: { fontSize: "1.6rem", fontWeight: 600 },
      h2: { fontSize: "1.25rem", fontWeight: 600 },
      h3: { fontSize: "1.05rem", fontWeight: 600 },
      button: { textTransform: "none", fontWeight: 600 },
    },
    components: {
      // Global: the "Skip to content" link appears only when focused by keyboard.
      MuiCssBaseline: {
        styleOverrides: (theme) => ({
          ".skip-link": {
            position: "absolute",
            left: -9999,
            top: 0,
            zIndex: theme.zIndex.tooltip + 1,
            padding: "8px 16px",
            background: theme.palette.primary.main,
            color: theme.palette.primary.contrastText,
          },
          ".skip-link:focus": { left: 8, top: 8 },
        }),
      },
      // Surfaces
      MuiPaper: {
        defaultProps: { elevation: 0 },
        styleOverrides: { root: { backgroundImage: "none" } },
      },
      MuiCard: {
        defaultProps: { variant: "outlined" },
      },
      MuiAppBar: {
        defaultProps: { elevation: 0, color: "inherit" },
        styleOverrides: {
          root: ({ theme }) => ({ borderBottom: `1px solid ${theme.palette.divider}` }),
        },
      },
      // Data display
      MuiTableCell: {
        styleOverrides: {
          root: { paddingTop: 8, paddingBottom: 8 },
          head: { fontWeight: 600, whiteSpace: "nowrap" },
        },
      },
      MuiChip: {
        styleOverrides: { root: { fontWeight: 600 } },
      },
      // Inputs
      MuiTextField: {
        defaultProps: { size: "small" },
      },
      MuiButton: {
        defaultProps: { disableElevation: true },
      },
      // Focus must stay visible for keyboard users in both modes.
      MuiButtonBase: {
        styleOverrides: {
          root: ({ theme }) => ({
            "&.Mui-focusVisible": {
              outline: `2px solid ${theme.palette.primary.main}`,
              outlineOffset: 2,
            },
          }),
        },
      },
    },
  });
}
