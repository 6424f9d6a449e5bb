import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect } from "react";
import { Route, Routes, useParams, useSearchParams } from "react-router-dom";
import { useApi } from "./api/ApiContext";
import { prefetchMonitorPage } from "./api/hooks/monitors";
import { RequireAuth } from "./auth/RequireAuth";
import { LoadingState } from "./components/QueryState";
import { loadLatencyChart } from "./features/monitor/loadLatencyChart";
import { parseWindow } from "./features/monitor/windows";
import { AppShell } from "./layout/AppShell";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { OverviewPage } from "./pages/OverviewPage";
import { SignupPage } from "./pages/SignupPage";

// The overview and sign-in load with the app; other pages load when first opened.
const MonitorPage = lazy(() =>
  import("./pages/MonitorPage").then((module) => ({ default: module.MonitorPage })),
);
const MonitorFormPage = lazy(() =>
  import("./pages/MonitorFormPage").then((module) => ({ default: module.MonitorFormPage })),
);
const RegionsPage = lazy(() =>
  import("./pages/RegionsPage").then((module) => ({ default: module.RegionsPage })),
);
const ChannelsPage = lazy(() =>
  import("./pages/ChannelsPage").then((module) => ({ default: module.ChannelsPage })),
);
const MembersPage = lazy(() =>
  import("./pages/MembersPage").then((module) => ({ default: module.MembersPage })),
);
const AcceptInvitationPage = lazy(() =>
  import("./pages/AcceptInvitationPage").then((module) => ({
    default: module.AcceptInvitationPage,
  })),
);

/**
 * Renders the monitor page. On a move inside the app it starts the page's first queries and the
 * chart's code download together with the page's own code, instead of one after the other.
 */
function MonitorRoute() {
  const { monitorId = "" } = useParams();
  const [searchParams] = useSearchParams();
  const window = parseWindow(searchParams.get("window"));
  const api = useApi();
  const queryClient = useQueryClient();

  useEffect(() => {
    prefetchMonitorPage(queryClient, api, monitorId, window);
    // A failed download is raised again where LatencyPanel renders the chart, not here.
    loadLatencyChart().catch(() => undefined);
  }, [queryClient, api, monitorId, window]);

  // A boundary of its own keeps this component mounted, so its effect runs, while the page's
  // code loads.
  return (
    <Suspense fallback={<LoadingState />}>
      <MonitorPage />
    </Suspense>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      {/* Outside RequireAuth: an invitee may have no account yet. */}
      <Route
        path="/invitations/accept"
        element={
          <Suspense fallback={<LoadingState />}>
            <AcceptInvitationPage />
          </Suspense>
        }
      />
      <Route
        element={
          <RequireAuth>
            <AppShell />
          </RequireAuth>
        }
      >
        <Route index element={<OverviewPage />} />
        <Route path="monitors/new" element={<MonitorFormPage />} />
        <Route path="monitors/:monitorId" element={<MonitorRoute />} />
        <Route path="monitors/:monitorId/edit" element={<MonitorFormPage />} />
        <Route path="regions" element={<RegionsPage />} />
        <Route path="channels" element={<ChannelsPage />} />
        <Route path="members" element={<MembersPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
