import {
  Button,
  Chip,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Tooltip,
} from "@mui/material";
import type { Invitation, Role } from "../../api/membershipTypes";
import { Time } from "../../components/Time";
import { deliveryStatus } from "./invitationStatus";
import { canChangeRole, roleLabel } from "./roles";

interface InvitationTableProps {
  invitations: Invitation[];
  actorRole: Role | null;
  /** The invitation whose revocation is in flight. */
  busyId: string | null;
  onRevoke(invitation: Invitation): void;
}

const HIDDEN_ON_PHONE = { display: { xs: "none", sm: "table-cell" } };

export function InvitationTable({
  invitations,
  actorRole,
  busyId,
  onRevoke,
}: InvitationTableProps) {
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label="Pending invitations">
        <TableHead>
          <TableRow>
            <TableCell>Email</TableCell>
            <TableCell>Role</TableCell>
            <TableCell sx={HIDDEN_ON_PHONE}>Delivery</TableCell>
            <TableCell sx={HIDDEN_ON_PHONE}>Expires</TableCell>
            <TableCell aria-label="Actions" />
          </TableRow>
        </TableHead>
        <TableBody>
          {invitations.map((invitation) => {
            const status = deliveryStatus(invitation);
            return (
              <TableRow key={invitation.id}>
                <TableCell sx={{ overflowWrap: "anywhere" }}>{invitation.email}</TableCell>
                <TableCell>{roleLabel(invitation.role)}</TableCell>
                <TableCell sx={HIDDEN_ON_PHONE}>
                  <Tooltip title={status.detail}>
                    <Chip
                      label={status.label}
                      size="small"
                      color={status.isProblem ? "error" : "default"}
                      variant="outlined"
                      tabIndex={0}
                      aria-label={`${status.label}. ${status.detail}`}
                    />
                  </Tooltip>
                </TableCell>
                <TableCell sx={HIDDEN_ON_PHONE}>
                  <Time value={invitation.expires_at} relative />
                </TableCell>
                <TableCell align="right">
                  {canChangeRole(actorRole, invitation.role) && (
                    <Button
                      size="small"
                      color="error"
                      onClick={() => onRevoke(invitation)}
                      disabled={busyId === invitation.id}
                      aria-label={`Revoke the invitation for ${invitation.email}`}
                    >
                      Revoke
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </TableContainer>
  );
}
