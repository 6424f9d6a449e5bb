import { CssBaseline, ThemeProvider, useMediaQuery, type PaletteMode } from "@mui/material";
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import { buildTheme } from "../theme";

const STORAGE_KEY = "mometrics.colorMode";

interface ColorModeState {
  mode: PaletteMode;
  toggle(): void;
}

const ColorModeContext = createContext<ColorModeState | null>(null);

function readStoredMode(): PaletteMode | null {
  const stored = window.localStorage.getItem(STORAGE_KEY);
  return stored === "light" || stored === "dark" ? stored : null;
}

/** Theme with a light/dark choice kept in localStorage; without one it follows the system. */
export function ColorModeProvider({ children }: { children: ReactNode }) {
  const prefersDark = useMediaQuery("(prefers-color-scheme: dark)");
  const [storedMode, setStoredMode] = useState<PaletteMode | null>(readStoredMode);
  const mode: PaletteMode = storedMode ?? (prefersDark ? "dark" : "light");

  const theme = useMemo(() => buildTheme(mode), [mode]);
  const state = useMemo(
    () => ({
      mode,
      toggle: () => {
        const next = mode === "dark" ? "light" : "dark";
        window.localStorage.setItem(STORAGE_KEY, next);
        setStoredMode(next);
      },
    }),
    [mode],
  );

  return (
    <ColorModeContext.Provider value={state}>
      <ThemeProvider theme={theme}>
        <CssBaseline />
        {children}
      </ThemeProvider>
    </ColorModeContext.Provider>
  );
}

export function useColorMode(): ColorModeState {
  const state = useContext(ColorModeContext);
  if (!state) throw new Error("useColorMode must be used inside <ColorModeProvider>.");
  return state;
}
