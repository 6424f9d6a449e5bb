import { lazy } from "react";
import { Route, Routes } from "react-router-dom";
import { RequireAuth } from "./auth/RequireAuth";
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

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route
        element={
          <RequireAuth>
            <AppShell />
          </RequireAuth>
        }
      >
        <Route index element={<OverviewPage />} />
        <Route path="monitors/new" element={<MonitorFormPage />} />
        <Route path="monitors/:monitorId" element={<MonitorPage />} />
        <Route path="monitors/:monitorId/edit" element={<MonitorFormPage />} />
        <Route path="regions" element={<RegionsPage />} />
        <Route path="channels" element={<ChannelsPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
