import {
  Alert,
  AlertTitle,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Stack,
  TextField,
} from "@mui/material";
import { useId, useState, type FormEvent } from "react";
import { useCreateInvitation } from "../../api/hooks/invitations";
import type { InvitationCreated, Role } from "../../api/membershipTypes";
import { errorMessage, splitFieldErrors } from "../../api/problem";
import { formatLocalTime } from "../../lib/format";
import { CopyLinkField } from "./CopyLinkField";
import { assignableRoles, isRole, ROLE_DESCRIPTIONS, ROLE_LABELS, roleLabel } from "./roles";

const FIELDS = ["email", "role"] as const;

interface InviteDialogProps {
  open: boolean;
  organizationId: string;
  organizationName: string;
  actorRole: Role | null;
  onClose(): void;
}

/** Invites an email address with a role, then shows the accept link or reports the email. */
export function InviteDialog({
  open,
  organizationId,
  organizationName,
  actorRole,
  onClose,
}: InviteDialogProps) {
  const create = useCreateInvitation(organizationId);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [created, setCreated] = useState<InvitationCreated | null>(null);
  const titleId = useId();
  const { fields, rest } = splitFieldErrors(create.error, FIELDS);
  const hasBanner = rest.length > 0 || (create.error !== null && Object.keys(fields).length === 0);

  const reset = () => {
    setEmail("");
    setRole("member");
    setCreated(null);
    create.reset();
  };

  const handleClose = () => {
    reset();
    onClose();
  };

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ email: email.trim(), role }, { onSuccess: setCreated });
  };

  if (created) {
    return (
      <Dialog open={open} onClose={handleClose} aria-labelledby={titleId} fullWidth maxWidth="sm">
        <DialogTitle id={titleId}>Invitation for {created.email}</DialogTitle>
        <DialogContent>
          <InvitationResult invitation={created} organizationName={organizationName} />
        </DialogContent>
        <DialogActions>
          <Button onClick={reset}>Invite another</Button>
          <Button variant="contained" onClick={handleClose}>
            Done
          </Button>
        </DialogActions>
      </Dialog>
    );
  }

  return (
    <Dialog open={open} onClose={handleClose} aria-labelledby={titleId} fullWidth maxWidth="sm">
      <form onSubmit={handleSubmit} noValidate>
        <DialogTitle id={titleId}>Invite to {organizationName}</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            {hasBanner && (
              <Alert severity="error">
                {rest.length > 0 ? rest.join(" ") : errorMessage(create.error)}
              </Alert>
            )}
            <TextField
              label="Email"
              type="email"
              required
              autoFocus
              autoComplete="off"
              value={email}
              onChange={(event) => setEmail(event.target.value)}
              error={Boolean(fields.email)}
              helperText={fields.email}
            />
            <TextField
              select
              label="Role"
              value={role}
              onChange={(event) => {
                if (isRole(event.target.value)) setRole(event.target.value);
              }}
              error={Boolean(fields.role)}
              helperText={fields.role ?? ROLE_DESCRIPTIONS[role]}
              slotProps={{ select: { native: true } }}
            >
              {assignableRoles(actorRole).map((option) => (
                <option key={option} value={option}>
                  {ROLE_LABELS[option]}
                </option>
              ))}
            </TextField>
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={handleClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={create.isPending || !email.trim()}>
            {create.isPending ? "Inviting…" : "Invite"}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

function InvitationResult({
  invitation,
  organizationName,
}: {
  invitation: InvitationCreated;
  organizationName: string;
}) {
  const expires = formatLocalTime(invitation.expires_at);
  const joins = `${invitation.email} joins ${organizationName} as ${roleLabel(invitation.role)}`;

  if (invitation.delivery === "email" || !invitation.accept_url) {
    return (
      <Alert severity="success">
        <AlertTitle>Invitation sent by email</AlertTitle>
        The control plane emails the accept link to {invitation.email}. With it, {joins}. The link
        works until {expires}. The pending invitations list shows when the email has gone out, or
        why it failed.
      </Alert>
    );
  }

  return (
    <Stack spacing={2}>
      <Alert severity="info">
        No email was sent, because this control plane has no mail server set up. Pass this link on:
        with it, {joins}. The link works until {expires} and is shown only once.
      </Alert>
      <CopyLinkField url={invitation.accept_url} />
    </Stack>
  );
}
