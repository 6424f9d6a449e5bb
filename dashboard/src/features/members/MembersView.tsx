import PersonAddIcon from "@mui/icons-material/PersonAdd";
import { Alert, Box, Button, Snackbar, Stack, Typography } from "@mui/material";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { queryKeys } from "../../api/hooks/keys";
import { useChangeMemberRole, useMembers, useRemoveMember } from "../../api/hooks/members";
import type { Member, Role } from "../../api/membershipTypes";
import { writeOrganizationId } from "../../api/organization";
import { EmptyState, ErrorState, LoadingState } from "../../components/QueryState";
import { ConfirmDialog } from "./ConfirmDialog";
import { InviteDialog } from "./InviteDialog";
import { MemberTable } from "./MemberTable";
import { actionErrorMessage, type Notice } from "./messages";
import { PendingInvitations } from "./PendingInvitations";
import { canManageMembers, ROLE_LABELS, roleLabel } from "./roles";
import { useCurrentOrganization, type CurrentOrganization } from "./useCurrentOrganization";

/** Shows the members, their roles and the pending invitations of the current organisation. */
export function MembersView() {
  const { me, current } = useCurrentOrganization();

  if (me.isPending) return <LoadingState />;
  if (me.isError) return <ErrorState error={me.error} onRetry={() => void me.refetch()} />;
  if (!current) {
    return (
      <EmptyState title="No organisation">
        Your account belongs to no organisation. Ask an owner or admin for an invitation.
      </EmptyState>
    );
  }
  // A key per organisation resets dialogs and messages when the switcher changes it.
  return <OrganizationMembers key={current.organization.id} current={current} />;
}

function OrganizationMembers({ current }: { current: CurrentOrganization }) {
  const { organization, role, userId } = current;
  const members = useMembers(organization.id);
  const changeRole = useChangeMemberRole(organization.id);
  const remove = useRemoveMember(organization.id);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [isInviteOpen, setInviteOpen] = useState(false);
  const [removal, setRemoval] = useState<Member | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const canManage = canManageMembers(role);

  const handleChangeRole = (member: Member, newRole: Role) => {
    changeRole.mutate(
      { member, role: newRole },
      {
        onSuccess: () =>
          setNotice({ message: `${member.email} is now ${ROLE_LABELS[newRole]}.`, isError: false }),
        onError: (error) =>
          setNotice({
            message: actionErrorMessage(`change the role of ${member.email}`, error),
            isError: true,
          }),
      },
    );
  };

  const handleLeft = () => {
    // The organisation is gone from this account: act in the first remaining one.
    writeOrganizationId(null);
    queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "me" });
    void queryClient.invalidateQueries({ queryKey: queryKeys.me });
    navigate("/", { replace: true });
  };

  const handleRemove = (member: Member) => {
    const isSelf = member.user_id === userId;
    remove.mutate(member, {
      onSuccess: () => {
        setRemoval(null);
        if (isSelf) handleLeft();
        else setNotice({ message: `${member.email} was removed.`, isError: false });
      },
      onError: (error) => {
        setRemoval(null);
        const action = isSelf ? `leave ${organization.name}` : `remove ${member.email}`;
        setNotice({ message: actionErrorMessage(action, error), isError: true });
      },
    });
  };

  const busyUserId =
    (changeRole.isPending && changeRole.variables?.member.user_id) ||
    (remove.isPending && remove.variables?.user_id) ||
    null;
  const isLeaving = removal?.user_id === userId;

  return (
    <>
      <Stack
        direction="row"
        alignItems="center"
        justifyContent="space-between"
        flexWrap="wrap"
        gap={1}
        sx={{ mb: 1 }}
      >
        <Typography variant="h1">Members</Typography>
        {canManage && (
          <Button
            variant="contained"
            startIcon={<PersonAddIcon />}
            onClick={() => setInviteOpen(true)}
          >
            Invite
          </Button>
        )}
      </Stack>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        {organization.name}. Your role: {roleLabel(organization.role)}.
        {!canManage && " Owners and admins manage members and invitations."}
      </Typography>

      <Box component="section" aria-label="Members" sx={{ mb: 4 }}>
        {members.isPending && <LoadingState label="Loading members…" />}
        {members.isError && (
          <ErrorState error={members.error} onRetry={() => void members.refetch()} />
        )}
        {members.data && members.data.items.length === 0 && (
          <EmptyState title="No members">This organisation has no members to show.</EmptyState>
        )}
        {members.data && members.data.items.length > 0 && (
          <MemberTable
            members={members.data.items}
            currentUserId={userId}
            actorRole={role}
            busyUserId={busyUserId}
            onChangeRole={handleChangeRole}
            onRemove={setRemoval}
          />
        )}
      </Box>

      {canManage && (
        <PendingInvitations
          organizationId={organization.id}
          actorRole={role}
          onInvite={() => setInviteOpen(true)}
          onNotice={setNotice}
        />
      )}

      <InviteDialog
        open={isInviteOpen}
        organizationId={organization.id}
        organizationName={organization.name}
        actorRole={role}
        onClose={() => setInviteOpen(false)}
      />
      <ConfirmDialog
        open={removal !== null}
        title={isLeaving ? `Leave ${organization.name}?` : `Remove ${removal?.email ?? ""}?`}
        confirmLabel={isLeaving ? "Leave" : "Remove"}
        isPending={remove.isPending}
        onConfirm={() => removal && handleRemove(removal)}
        onClose={() => setRemoval(null)}
      >
        {isLeaving
          ? `You lose access to ${organization.name} until someone invites you again.`
          : `${removal?.email ?? ""} loses access to ${organization.name}, and the API keys ` +
            "they created stop working."}
      </ConfirmDialog>
      <Snackbar
        open={notice !== null}
        autoHideDuration={notice?.isError ? null : 6000}
        onClose={(_event, reason) => {
          if (reason !== "clickaway") setNotice(null);
        }}
      >
        <Alert
          severity={notice?.isError ? "error" : "success"}
          onClose={() => setNotice(null)}
          sx={{ maxWidth: 560 }}
        >
          {notice?.message}
        </Alert>
      </Snackbar>
    </>
  );
}
