import { QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { ApiProvider } from "./api/ApiContext";
import { ApiClient } from "./api/client";
import { readOrganizationId } from "./api/organization";
import { LocalStorageTokenStore } from "./api/tokens";
import { App } from "./App";
import { AuthProvider } from "./auth/AuthProvider";
import { ColorModeProvider } from "./layout/ColorMode";
import { createQueryClient } from "./queryClient";
import { prefetchForLocation } from "./routePrefetch";

/** Renders the dashboard into `root`, sending API requests through `fetchFn`. */
export function renderApp(root: HTMLElement, fetchFn: typeof fetch): void {
  const api = new ApiClient({
    fetch: fetchFn,
    tokens: new LocalStorageTokenStore(),
    organizationId: readOrganizationId,
  });
  const queryClient = createQueryClient();
  prefetchForLocation(queryClient, api, window.location);

  createRoot(root).render(
    <StrictMode>
      <ColorModeProvider>
        <QueryClientProvider client={queryClient}>
          <ApiProvider client={api}>
            <BrowserRouter>
              <AuthProvider>
                <App />
              </AuthProvider>
            </BrowserRouter>
          </ApiProvider>
        </QueryClientProvider>
      </ColorModeProvider>
    </StrictMode>,
  );
}
