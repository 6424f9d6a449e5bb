import PersonRemoveIcon from "@mui/icons-material/PersonRemove";
import {
  Button,
  Chip,
  IconButton,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Tooltip,
} from "@mui/material";
import type { Member, Role } from "../../api/membershipTypes";
import { Time } from "../../components/Time";
import {
  assignableRoles,
  canChangeRole,
  canRemoveMember,
  isRole,
  ROLE_LABELS,
  roleLabel,
} from "./roles";

interface MemberTableProps {
  members: Member[];
  currentUserId: string;
  /** The signed-in user's role; controls appear only for what it may do. */
  actorRole: Role | null;
  /** The member whose change or removal is in flight, so its controls are disabled. */
  busyUserId: string | null;
  onChangeRole(member: Member, role: Role): void;
  onRemove(member: Member): void;
}

// The joined date is the least needed column, so phones leave it out to fit the role select.
const HIDDEN_ON_PHONE = { display: { xs: "none", sm: "table-cell" } };

export function MemberTable({
  members,
  currentUserId,
  actorRole,
  busyUserId,
  onChangeRole,
  onRemove,
}: MemberTableProps) {
  const roleOptions = assignableRoles(actorRole);

  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label="Members">
        <TableHead>
          <TableRow>
            <TableCell>Email</TableCell>
            <TableCell>Role</TableCell>
            <TableCell sx={HIDDEN_ON_PHONE}>Joined</TableCell>
            <TableCell aria-label="Actions" />
          </TableRow>
        </TableHead>
        <TableBody>
          {members.map((member) => {
            const isSelf = member.user_id === currentUserId;
            const isBusy = busyUserId === member.user_id;
            const isEditable = canChangeRole(actorRole, member.role);
            return (
              <TableRow key={member.user_id}>
                <TableCell sx={{ overflowWrap: "anywhere" }}>
                  {member.email}
                  {isSelf && <Chip label="you" size="small" sx={{ ml: 1 }} />}
                </TableCell>
                <TableCell>
                  {isEditable ? (
                    <TextField
                      select
                      size="small"
                      value={member.role}
                      disabled={isBusy}
                      sx={{ minWidth: 112 }}
                      onChange={(event) => {
                        const role = event.target.value;
                        if (isRole(role) && role !== member.role) onChangeRole(member, role);
                      }}
                      slotProps={{
                        select: { native: true },
                        htmlInput: { "aria-label": `Role of ${member.email}` },
                      }}
                    >
                      {roleOptions.map((role) => (
                        <option key={role} value={role}>
                          {ROLE_LABELS[role]}
                        </option>
                      ))}
                    </TextField>
                  ) : (
                    roleLabel(member.role)
                  )}
                </TableCell>
                <TableCell sx={HIDDEN_ON_PHONE}>
                  <Time value={member.joined_at} />
                </TableCell>
                <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
                  {isSelf ? (
                    <Button size="small" onClick={() => onRemove(member)} disabled={isBusy}>
                      Leave
                    </Button>
                  ) : (
                    canRemoveMember(actorRole, member.role) && (
                      <Tooltip title={`Remove ${member.email}`}>
                        <span>
                          <IconButton
                            aria-label={`Remove ${member.email}`}
                            onClick={() => onRemove(member)}
                            disabled={isBusy}
                          >
                            <PersonRemoveIcon />
                          </IconButton>
                        </span>
                      </Tooltip>
                    )
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
