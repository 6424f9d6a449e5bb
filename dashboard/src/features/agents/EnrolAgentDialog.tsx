import {
  Alert,
  Autocomplete,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Stack,
  TextField,
  Typography,
} from "@mui/material";
import { useState, type FormEvent } from "react";
import { useEnrolAgent } from "../../api/hooks/agents";
import { errorMessage, splitFieldErrors } from "../../api/problem";
import type { EnrolledAgent } from "../../api/types";
import { agentStartCommand } from "./startCommand";

const FIELDS = ["name", "region"] as const;

interface EnrolAgentDialogProps {
  open: boolean;
  knownRegions: string[];
  onClose(): void;
}

/** Enrols an agent, then shows its token and start command once. */
export function EnrolAgentDialog({ open, knownRegions, onClose }: EnrolAgentDialogProps) {
  const enrol = useEnrolAgent();
  const [name, setName] = useState("");
  const [region, setRegion] = useState("");
  const [enrolled, setEnrolled] = useState<EnrolledAgent | null>(null);
  const [isCopied, setCopied] = useState(false);
  const { fields, rest } = splitFieldErrors(enrol.error, FIELDS);

  const handleClose = () => {
    setName("");
    setRegion("");
    setEnrolled(null);
    setCopied(false);
    enrol.reset();
    onClose();
  };

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault();
    enrol.mutate({ name: name.trim(), region: region.trim() }, { onSuccess: setEnrolled });
  };

  if (enrolled) {
    const command = agentStartCommand(window.location.hostname, enrolled.region, enrolled.token);
    return (
      <Dialog open={open} onClose={handleClose} fullWidth maxWidth="md">
        <DialogTitle>Agent {enrolled.name} enrolled</DialogTitle>
        <DialogContent>
          <Alert severity="warning" sx={{ mb: 2 }}>
            Copy the token now: it is shown only once.
          </Alert>
          <Typography variant="body2" sx={{ mb: 1 }}>
            Start the agent with:
          </Typography>
          <Box
            component="pre"
            tabIndex={0}
            sx={{
              p: 2,
              bgcolor: "action.hover",
              borderRadius: 1,
              overflowX: "auto",
              fontSize: 13,
              m: 0,
            }}
          >
            {command}
          </Box>
          <Button
            sx={{ mt: 1 }}
            onClick={() => {
              void navigator.clipboard?.writeText(command).then(() => setCopied(true));
            }}
          >
            {isCopied ? "Copied" : "Copy command"}
          </Button>
        </DialogContent>
        <DialogActions>
          <Button variant="contained" onClick={handleClose}>
            Done
          </Button>
        </DialogActions>
      </Dialog>
    );
  }

  return (
    <Dialog open={open} onClose={handleClose} fullWidth maxWidth="sm">
      <form onSubmit={handleSubmit} noValidate>
        <DialogTitle>Enrol an agent</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            {(rest.length > 0 || (enrol.error && Object.keys(fields).length === 0)) && (
              <Alert severity="error">
                {rest.length > 0 ? rest.join(" ") : errorMessage(enrol.error)}
              </Alert>
            )}
            <TextField
              label="Name"
              required
              autoFocus
              value={name}
              onChange={(event) => setName(event.target.value)}
              error={Boolean(fields.name)}
              helperText={fields.name ?? "For example probe-fra-1"}
            />
            <Autocomplete
              freeSolo
              options={knownRegions}
              inputValue={region}
              onInputChange={(_event, value) => setRegion(value)}
              renderInput={(params) => (
                <TextField
                  {...params}
                  label="Region"
                  required
                  error={Boolean(fields.region)}
                  helperText={fields.region ?? "Pick a region or type a new one, e.g. eu-central"}
                />
              )}
            />
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={handleClose}>Cancel</Button>
          <Button
            type="submit"
            variant="contained"
            disabled={enrol.isPending || !name.trim() || !region.trim()}
          >
            Enrol
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
