import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { useApi } from "../api/ApiContext";
import { writeOrganizationId } from "../api/organization";

interface AuthState {
  isSignedIn: boolean;
  /** True after the session ended by itself (refresh token expired or revoked). */
  isSessionExpired: boolean;
  login(email: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [isSignedIn, setSignedIn] = useState(() => api.isSignedIn);
  const [isSessionExpired, setSessionExpired] = useState(false);

  useEffect(
    () =>
      api.subscribeSessionExpired(() => {
        setSessionExpired(true);
        setSignedIn(false);
      }),
    [api],
  );

  const login = useCallback(
    async (email: string, password: string) => {
      await api.login(email, password);
      setSessionExpired(false);
      setSignedIn(true);
    },
    [api],
  );

  const logout = useCallback(async () => {
    await api.logout();
    writeOrganizationId(null);
    queryClient.clear();
    setSessionExpired(false);
    setSignedIn(false);
  }, [api, queryClient]);

  const value = useMemo(
    () => ({ isSignedIn, isSessionExpired, login, logout }),
    [isSignedIn, isSessionExpired, login, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth must be used inside <AuthProvider>.");
  return state;
}
