import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router-dom";
import { ApiProvider } from "../api/ApiContext";
import { ApiClient } from "../api/client";
import { MemoryTokenStore, type StoredTokens } from "../api/tokens";
import { AuthProvider } from "../auth/AuthProvider";
import { ColorModeProvider } from "../layout/ColorMode";

interface RenderOptions {
  fetch: typeof fetch;
  tokens?: StoredTokens | null;
  route?: string;
  /** A client with cache entries set up by the test, or by default a new empty one. */
  queryClient?: QueryClient;
}

/** Renders UI with the app's providers around it, talking to a fake fetch. */
export function renderWithProviders(ui: ReactElement, options: RenderOptions) {
  const tokens = new MemoryTokenStore(options.tokens ?? null);
  const client = new ApiClient({ fetch: options.fetch, tokens });
  const queryClient =
    options.queryClient ?? new QueryClient({ defaultOptions: { queries: { retry: false } } });

  const result = render(
    <ColorModeProvider>
      <QueryClientProvider client={queryClient}>
        <ApiProvider client={client}>
          <MemoryRouter initialEntries={[options.route ?? "/"]}>
            <AuthProvider>{ui}</AuthProvider>
          </MemoryRouter>
        </ApiProvider>
      </QueryClientProvider>
    </ColorModeProvider>,
  );
  return { ...result, tokens, client, queryClient };
}
