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

const api = new ApiClient({
  tokens: new LocalStorageTokenStore(),
  organizationId: readOrganizationId,
});
const queryClient = createQueryClient();

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element.");

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
