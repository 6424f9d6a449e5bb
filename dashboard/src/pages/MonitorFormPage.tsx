import { Typography } from "@mui/material";
import { useNavigate, useParams } from "react-router-dom";
import { useRegions } from "../api/hooks/agents";
import { useChannels } from "../api/hooks/channels";
import { useMonitor, useSaveMonitor } from "../api/hooks/monitors";
import { ErrorState, LoadingState } from "../components/QueryState";
import { DEFAULT_VALUES, valuesFromMonitor } from "../features/monitorForm/formValues";
import { MonitorForm } from "../features/monitorForm/MonitorForm";

/** Create form at /monitors/new, edit form at /monitors/:monitorId/edit. */
export function MonitorFormPage() {
  const { monitorId } = useParams();
  const isEdit = monitorId !== undefined;
  const navigate = useNavigate();
  const monitor = useMonitor(monitorId ?? "", isEdit);
  const regions = useRegions();
  const channels = useChannels();
  const save = useSaveMonitor(monitorId ?? null);

  const pending = regions.isPending || channels.isPending || (isEdit && monitor.isPending);
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
          initialValues={isEdit && monitor.data ? valuesFromMonitor(monitor.data) : DEFAULT_VALUES}
          regions={regions.data?.items ?? []}
          channels={channels.data?.items ?? []}
          submitLabel={isEdit ? "Save changes" : "Create monitor"}
          isEdit={isEdit}
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
