import {
  Alert,
  Autocomplete,
  Box,
  Button,
  FormControl,
  FormControlLabel,
  FormHelperText,
  MenuItem,
  Paper,
  Stack,
  Switch,
  TextField,
  Typography,
} from "@mui/material";
import { useState, type FormEvent } from "react";
import type { TestRequest } from "../../api/hooks/monitors";
import { ApiError, errorMessage } from "../../api/problem";
import type {
  Channel,
  CheckRun,
  Monitor,
  MonitorCreate,
  MonitorKind,
  MonitorUpdate,
  Region,
} from "../../api/types";
import { TestRunPanel } from "../testRun/TestRunPanel";
import { useTestRun } from "../testRun/useTestRun";
import {
  addressPlaceholder,
  mapApiFieldErrors,
  toEditedDraft,
  toMonitorCreate,
  toMonitorUpdate,
  validateValues,
  type FormErrors,
  type MonitorFormValues,
} from "./formValues";

const KINDS: { value: MonitorKind; label: string }[] = [
  { value: "http", label: "HTTP(S)" },
  { value: "tcp", label: "TCP port" },
  { value: "dns", label: "DNS" },
  { value: "tls", label: "TLS certificate" },
  { value: "grpc", label: "gRPC health" },
];

const ADDRESS_HELP: Record<MonitorKind, string | undefined> = {
  http: undefined,
  tcp: "host:port",
  dns: "Host name to resolve",
  tls: "host:port",
  grpc: "host:port",
};

/** Seconds the test API may wait beyond the monitor's timeout for the agents to report. */
const TEST_REPLY_MARGIN_S = 5;

interface MonitorFormProps {
  initialValues: MonitorFormValues;
  /** The stored monitor when editing: the kind is fixed and only changed fields are sent. */
  saved?: Monitor;
  regions: Region[];
  channels: Channel[];
  submitLabel: string;
  onSubmit(body: MonitorCreate | MonitorUpdate): Promise<unknown>;
  /** Runs the check once in each region. Without it the "Test now" button is hidden. */
  onTest?(request: TestRequest, signal: AbortSignal): Promise<CheckRun>;
  onCancel(): void;
}

function SwitchField({
  label,
  checked,
  onChange,
  error,
  helperText,
}: {
  label: string;
  checked: boolean;
  onChange(checked: boolean): void;
  error?: string;
  helperText?: string;
}) {
  const message = error ?? helperText;
  return (
    <FormControl error={Boolean(error)}>
      <FormControlLabel
        control={<Switch checked={checked} onChange={(event) => onChange(event.target.checked)} />}
        label={label}
      />
      {message && <FormHelperText sx={{ mt: -0.5 }}>{message}</FormHelperText>}
    </FormControl>
  );
}

export function MonitorForm(props: MonitorFormProps) {
  const { initialValues, regions, channels, submitLabel, onSubmit, onTest, onCancel } = props;
  // Changes are measured against the monitor as it was when the form opened, so a refetch while
  // the user types cannot turn someone else's later change into one of this form's.
  const [saved] = useState(props.saved);
  const isEdit = saved !== undefined;
  const [values, setValues] = useState(initialValues);
  const [errors, setErrors] = useState<FormErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [isSubmitting, setSubmitting] = useState(false);
  const testRun = useTestRun();

  const set = <K extends keyof MonitorFormValues>(key: K, value: MonitorFormValues[K]) => {
    setValues((current) => ({ ...current, [key]: value }));
    setErrors((current) => ({ ...current, [key]: undefined }));
  };

  /** Shows an API error: field errors at their inputs, everything else in the banner. */
  const showError = (error: unknown) => {
    if (!(error instanceof ApiError)) {
      setFormError(errorMessage(error));
      return;
    }
    const mapped = mapApiFieldErrors(error.fieldErrors);
    setErrors(mapped.errors);
    const hasFieldErrors = Object.keys(mapped.errors).length > 0;
    if (mapped.rest.length > 0) setFormError(mapped.rest.join(" "));
    else if (!hasFieldErrors) setFormError(errorMessage(error));
  };

  /** Runs the client-side checks. Returns false and shows the errors when any fails. */
  const checkValues = (): boolean => {
    setFormError(null);
    const clientErrors = validateValues(values);
    setErrors(clientErrors);
    return Object.keys(clientErrors).length === 0;
  };

  const handleSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (!checkValues()) return;

    setSubmitting(true);
    try {
      await onSubmit(saved ? toMonitorUpdate(values, saved) : toMonitorCreate(values));
    } catch (error) {
      showError(error);
    } finally {
      setSubmitting(false);
    }
  };

  const handleTest = async () => {
    if (!onTest || !checkValues()) return;

    // An unchanged edit form tests the saved monitor, and anything else tests the form's values.
    const isUnchanged =
      saved !== undefined && Object.keys(toMonitorUpdate(values, saved)).length === 0;
    const request: TestRequest = isUnchanged
      ? { monitorId: saved.id }
      : { draft: saved ? toEditedDraft(values, saved) : toMonitorCreate(values) };
    const info = {
      target: isUnchanged ? ("saved" as const) : ("draft" as const),
      regions: values.regions,
      maxWaitSeconds: Math.ceil(Number(values.timeoutSeconds)) + TEST_REPLY_MARGIN_S,
    };
    const error = await testRun.start(info, (signal) => onTest(request, signal));
    if (error instanceof ApiError && error.status === 422) showError(error);
  };

  const regionNames = regions.map((region) => region.name);
  const regionByName = new Map(regions.map((region) => [region.name, region]));
  const channelById = new Map(channels.map((channel) => [channel.id, channel]));
  const isHttp = values.kind === "http";
  const isTestBlocked =
    testRun.state.phase === "running" ||
    (testRun.state.phase === "failed" && testRun.state.retryAt !== null);

  return (
    <Paper
      component="form"
      variant="outlined"
      onSubmit={handleSubmit}
      noValidate
      sx={{ p: { xs: 2, sm: 3 } }}
    >
      <Stack spacing={2.5}>
        {formError && <Alert severity="error">{formError}</Alert>}
        <TextField
          label="Name"
          required
          value={values.name}
          onChange={(event) => set("name", event.target.value)}
          error={Boolean(errors.name)}
          helperText={errors.name}
        />
        <Stack direction={{ xs: "column", sm: "row" }} spacing={2}>
          <TextField
            select
            label="Kind"
            value={values.kind}
            onChange={(event) => set("kind", event.target.value as MonitorKind)}
            disabled={isEdit}
            error={Boolean(errors.kind)}
            helperText={errors.kind ?? (isEdit ? "Fixed after creation" : undefined)}
            sx={{ minWidth: 180 }}
          >
            {KINDS.map((kind) => (
              <MenuItem key={kind.value} value={kind.value}>
                {kind.label}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label={isHttp ? "URL" : "Target"}
            required
            fullWidth
            placeholder={addressPlaceholder(values.kind)}
            value={values.address}
            onChange={(event) => set("address", event.target.value)}
            error={Boolean(errors.address)}
            helperText={errors.address ?? ADDRESS_HELP[values.kind]}
          />
        </Stack>
        <Stack direction="row" spacing={2}>
          <TextField
            label="Interval (seconds)"
            type="number"
            value={values.intervalSeconds}
            onChange={(event) => set("intervalSeconds", event.target.value)}
            error={Boolean(errors.intervalSeconds)}
            helperText={errors.intervalSeconds ?? "Time between checks in each region"}
            slotProps={{ htmlInput: { min: 1, step: 1 } }}
            fullWidth
          />
          <TextField
            label="Timeout (seconds)"
            type="number"
            value={values.timeoutSeconds}
            onChange={(event) => set("timeoutSeconds", event.target.value)}
            error={Boolean(errors.timeoutSeconds)}
            helperText={errors.timeoutSeconds}
            slotProps={{ htmlInput: { min: 1, step: 1 } }}
            fullWidth
          />
        </Stack>
        <Autocomplete
          multiple
          options={regionNames}
          value={values.regions}
          onChange={(_event, next) => set("regions", next)}
          getOptionLabel={(name) => {
            const region = regionByName.get(name);
            if (!region) return name;
            return region.has_coverage ? name : `${name} (no live agent)`;
          }}
          renderInput={(params) => (
            <TextField
              {...params}
              label="Regions"
              required
              error={Boolean(errors.regions)}
              helperText={errors.regions ?? "Every picked region runs the check"}
            />
          )}
        />
        <Autocomplete
          multiple
          freeSolo
          options={[]}
          value={values.tags}
          onChange={(_event, next) => set("tags", next.map((tag) => tag.trim()).filter(Boolean))}
          renderInput={(params) => (
            <TextField
              {...params}
              label="Tags"
              error={Boolean(errors.tags)}
              helperText={errors.tags ?? "Press Enter after each tag"}
            />
          )}
        />
        <Autocomplete
          multiple
          options={channels.map((channel) => channel.id)}
          value={values.channelIds}
          onChange={(_event, next) => set("channelIds", next)}
          getOptionLabel={(id) => channelById.get(id)?.name ?? id}
          renderInput={(params) => (
            <TextField
              {...params}
              label="Notification channels"
              error={Boolean(errors.channelIds)}
              helperText={errors.channelIds}
            />
          )}
        />
        {isHttp && (
          <Box>
            <Typography variant="h3" sx={{ mb: 1.5 }}>
              HTTP options
            </Typography>
            <Stack spacing={2}>
              <TextField
                label="Expected status codes"
                placeholder="200, 300-399"
                value={values.expectedStatusCodes}
                onChange={(event) => set("expectedStatusCodes", event.target.value)}
                error={Boolean(errors.expectedStatusCodes)}
                helperText={
                  errors.expectedStatusCodes ??
                  "Codes or ranges, comma-separated; empty accepts any 2xx"
                }
              />
              <TextField
                label="Keyword"
                value={values.keyword}
                onChange={(event) => set("keyword", event.target.value)}
                error={Boolean(errors.keyword)}
                helperText={
                  errors.keyword ?? "The check fails unless the response body contains it"
                }
              />
              <SwitchField
                label="Follow redirects"
                checked={values.followRedirects}
                onChange={(checked) => set("followRedirects", checked)}
                error={errors.followRedirects}
              />
            </Stack>
          </Box>
        )}
        {values.kind === "grpc" && (
          <Box>
            <Typography variant="h3" sx={{ mb: 1.5 }}>
              gRPC options
            </Typography>
            <Stack spacing={1}>
              <SwitchField
                label="Use TLS"
                checked={values.useTls}
                onChange={(checked) => set("useTls", checked)}
                error={errors.useTls}
                helperText={
                  values.useTls ? "Connects over TLS" : "Connects over plaintext HTTP/2 (h2c)"
                }
              />
              {values.useTls && (
                <SwitchField
                  label="Verify TLS certificate"
                  checked={values.verifyTls}
                  onChange={(checked) => set("verifyTls", checked)}
                  error={errors.verifyTls}
                  helperText={
                    values.verifyTls
                      ? undefined
                      : "Trusts the certificate the server presents, e.g. a self-signed one"
                  }
                />
              )}
            </Stack>
          </Box>
        )}
        {(isHttp || values.kind === "tls") && (
          <SwitchField
            label="Verify TLS certificate"
            checked={values.verifyTls}
            onChange={(checked) => set("verifyTls", checked)}
            error={errors.verifyTls}
          />
        )}
        <Stack
          direction={{ xs: "column-reverse", sm: "row" }}
          spacing={1}
          useFlexGap
          justifyContent="flex-end"
        >
          {onTest && (
            <Button
              variant="outlined"
              onClick={() => void handleTest()}
              disabled={isTestBlocked}
              sx={{ mr: { sm: "auto" } }}
            >
              {testRun.state.phase === "running" ? "Testing…" : "Test now"}
            </Button>
          )}
          <Button onClick={onCancel}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={isSubmitting}>
            {isSubmitting ? "Saving…" : submitLabel}
          </Button>
        </Stack>
        <TestRunPanel state={testRun.state} onCancel={testRun.cancel} />
      </Stack>
    </Paper>
  );
}
