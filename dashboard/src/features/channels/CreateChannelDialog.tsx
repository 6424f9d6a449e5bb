import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Stack,
  TextField,
} from "@mui/material";
import { useState, type FormEvent } from "react";
import { useCreateChannel } from "../../api/hooks/channels";
import { errorMessage, splitFieldErrors } from "../../api/problem";
import type { ChannelKind } from "../../api/types";

interface ConfigField {
  key: string;
  label: string;
  helperText?: string;
  isSecret?: boolean;
  isOptional?: boolean;
}

/** Config fields that each channel kind needs. */
const CONFIG_FIELDS: Record<ChannelKind, ConfigField[]> = {
  webhook: [
    { key: "url", label: "URL", helperText: "Receives a JSON POST per incident" },
    { key: "secret", label: "Signing secret", isSecret: true, isOptional: true },
  ],
  slack: [{ key: "url", label: "Slack incoming webhook URL" }],
  email: [{ key: "to", label: "Email address" }],
};

const KIND_LABELS: Record<ChannelKind, string> = {
  webhook: "Webhook",
  slack: "Slack",
  email: "Email",
};

export function CreateChannelDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const create = useCreateChannel();
  const [kind, setKind] = useState<ChannelKind>("webhook");
  const [name, setName] = useState("");
  const [config, setConfig] = useState<Record<string, string>>({});

  const configFields = CONFIG_FIELDS[kind];
  const formFields = ["name", "kind", ...configFields.map((field) => `config.${field.key}`)];
  const { fields, rest } = splitFieldErrors(create.error, formFields);
  const isComplete =
    name.trim() !== "" &&
    configFields.every((field) => field.isOptional || (config[field.key] ?? "").trim() !== "");

  const handleClose = () => {
    setName("");
    setConfig({});
    create.reset();
    onClose();
  };

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault();
    const body: Record<string, string> = {};
    for (const field of configFields) {
      const value = (config[field.key] ?? "").trim();
      if (value !== "") body[field.key] = value;
    }
    create.mutate({ kind, name: name.trim(), config: body }, { onSuccess: handleClose });
  };

  return (
    <Dialog open={open} onClose={handleClose} fullWidth maxWidth="sm">
      <form onSubmit={handleSubmit} noValidate>
        <DialogTitle>Add a notification channel</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            {(rest.length > 0 || (create.error && Object.keys(fields).length === 0)) && (
              <Alert severity="error">
                {rest.length > 0 ? rest.join(" ") : errorMessage(create.error)}
              </Alert>
            )}
            <TextField
              select
              label="Kind"
              value={kind}
              onChange={(event) => setKind(event.target.value as ChannelKind)}
              error={Boolean(fields.kind)}
              helperText={fields.kind}
            >
              {(Object.keys(KIND_LABELS) as ChannelKind[]).map((value) => (
                <MenuItem key={value} value={value}>
                  {KIND_LABELS[value]}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              label="Name"
              required
              value={name}
              onChange={(event) => setName(event.target.value)}
              error={Boolean(fields.name)}
              helperText={fields.name}
            />
            {configFields.map((field) => (
              <TextField
                key={field.key}
                label={field.label}
                required={!field.isOptional}
                type={field.isSecret ? "password" : "text"}
                autoComplete="off"
                value={config[field.key] ?? ""}
                onChange={(event) => setConfig({ ...config, [field.key]: event.target.value })}
                error={Boolean(fields[`config.${field.key}`])}
                helperText={fields[`config.${field.key}`] ?? field.helperText}
              />
            ))}
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={handleClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={create.isPending || !isComplete}>
            Add channel
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
