import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { useAuth } from "./AuthProvider";

/** Location state that carries the page to return to after signing in. */
export interface ReturnState {
  from?: string;
}

/** Sends signed-out users to the login page, remembering the page they were on. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { isSignedIn } = useAuth();
  const location = useLocation();
  if (!isSignedIn) {
    const state: ReturnState = { from: location.pathname + location.search + location.hash };
    return <Navigate to="/login" replace state={state} />;
  }
  return <>{children}</>;
}
