import { Typography } from "@mui/material";
import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useRegions } from "../api/hooks/agents";
import { useChannels } from "../api/hooks/channels";
import { useMonitor, useRunTest, useSaveMonitor } from "../api/hooks/monitors";
import { ErrorState, LoadingState } from "../components/QueryState";
import { DEFAULT_VALUES, valuesFromMonitor } from "../features/monitorForm/formValues";
import { MonitorForm } from "../features/monitorForm/MonitorForm";

/** Create form at /monitors/new, edit form at /monitors/:monitorId/edit. */
export function MonitorFormPage() {
  const { monitorId } = useParams();
  const isEdit = monitorId !== undefined;
  const navigate = useNavigate();
  const monitor = useMonitor(monitorId ?? "", isEdit, true);
  // The form starts from the stored monitor and sends back what it does not change, so it waits
  // for a copy loaded after the page opened rather than one cached earlier.
  const [openedAt] = useState(() => Date.now());
  const isMonitorFresh = monitor.dataUpdatedAt >= openedAt;
  const regions = useRegions();
  const channels = useChannels();
  const save = useSaveMonitor(monitorId ?? null);
  const runTest = useRunTest();

  const pending = regions.isPending || channels.isPending || (isEdit && !isMonitorFresh);
  const error = regions.error ?? (isEdit ? monitor.error : null);

  return (
    <>
      <Typography variant="h1" sx={{ mb: 2 }}>
        {isEdit ? "Edit monitor" : "New monitor"}
      </Typography>
      {error && <ErrorState error={error} />}
      {!error && pending && <LoadingState />}
      {!error && !pending && (
        <MonitorForm
          // A new key per monitor, so moving between forms starts from that monitor's values.
          key={monitorId ?? "new"}
          initialValues={isEdit && monitor.data ? valuesFromMonitor(monitor.data) : DEFAULT_VALUES}
          saved={isEdit ? monitor.data : undefined}
          regions={regions.data?.items ?? []}
          channels={channels.data?.items ?? []}
          submitLabel={isEdit ? "Save changes" : "Create monitor"}
          onTest={runTest}
          onSubmit={async (body) => {
            const saved = await save.mutateAsync(body);
            navigate(`/monitors/${saved.id}`, { replace: isEdit });
          }}
          onCancel={() => navigate(-1)}
        />
      )}
    </>
  );
}
