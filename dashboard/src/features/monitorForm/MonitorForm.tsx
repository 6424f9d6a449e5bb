import {
  Alert,
  Autocomplete,
  Box,
  Button,
  FormControlLabel,
  MenuItem,
  Paper,
  Stack,
  Switch,
  TextField,
  Typography,
} from "@mui/material";
import { useState, type FormEvent } from "react";
import { ApiError, errorMessage } from "../../api/problem";
import type { Channel, MonitorCreate, MonitorKind, MonitorUpdate, Region } from "../../api/types";
import {
  addressPlaceholder,
  mapApiFieldErrors,
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

interface MonitorFormProps {
  initialValues: MonitorFormValues;
  regions: Region[];
  channels: Channel[];
  submitLabel: string;
  /** Edits an existing monitor: the kind is fixed and the body is a MonitorUpdate. */
  isEdit?: boolean;
  onSubmit(body: MonitorCreate | MonitorUpdate): Promise<unknown>;
  onCancel(): void;
}

export function MonitorForm(props: MonitorFormProps) {
  const {
    initialValues,
    regions,
    channels,
    submitLabel,
    isEdit = false,
    onSubmit,
    onCancel,
  } = props;
  const [values, setValues] = useState(initialValues);
  const [errors, setErrors] = useState<FormErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [isSubmitting, setSubmitting] = useState(false);

  const set = <K extends keyof MonitorFormValues>(key: K, value: MonitorFormValues[K]) => {
    setValues((current) => ({ ...current, [key]: value }));
    setErrors((current) => ({ ...current, [key]: undefined }));
  };

  const handleSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    const clientErrors = validateValues(values);
    setErrors(clientErrors);
    if (Object.keys(clientErrors).length > 0) return;

    setSubmitting(true);
    try {
      await onSubmit(isEdit ? toMonitorUpdate(values) : toMonitorCreate(values));
    } catch (error) {
      if (error instanceof ApiError) {
        const mapped = mapApiFieldErrors(error.fieldErrors);
        setErrors(mapped.errors);
        const hasFieldErrors = Object.keys(mapped.errors).length > 0;
        if (mapped.rest.length > 0) setFormError(mapped.rest.join(" "));
        else if (!hasFieldErrors) setFormError(errorMessage(error));
      } else {
        setFormError(errorMessage(error));
      }
    } finally {
      setSubmitting(false);
    }
  };

  const regionNames = regions.map((region) => region.name);
  const regionByName = new Map(regions.map((region) => [region.name, region]));
  const channelById = new Map(channels.map((channel) => [channel.id, channel]));
  const isHttp = values.kind === "http";

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
                placeholder="200, 204"
                value={values.expectedStatusCodes}
                onChange={(event) => set("expectedStatusCodes", event.target.value)}
                error={Boolean(errors.expectedStatusCodes)}
                helperText={errors.expectedStatusCodes ?? "Comma-separated; empty accepts any 2xx"}
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
              <FormControlLabel
                control={
                  <Switch
                    checked={values.followRedirects}
                    onChange={(event) => set("followRedirects", event.target.checked)}
                  />
                }
                label="Follow redirects"
              />
            </Stack>
          </Box>
        )}
        {(isHttp || values.kind === "tls" || values.kind === "grpc") && (
          <FormControlLabel
            control={
              <Switch
                checked={values.verifyTls}
                onChange={(event) => set("verifyTls", event.target.checked)}
              />
            }
            label="Verify TLS certificate"
          />
        )}
        {(errors.followRedirects ?? errors.verifyTls) && (
          <Alert severity="error">{errors.followRedirects ?? errors.verifyTls}</Alert>
        )}
        <Stack direction="row" spacing={1} justifyContent="flex-end">
          <Button onClick={onCancel}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={isSubmitting}>
            {isSubmitting ? "Saving…" : submitLabel}
          </Button>
        </Stack>
      </Stack>
    </Paper>
  );
}
