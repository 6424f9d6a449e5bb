import { Box, Button, Stack, Typography } from "@mui/material";
import { useId, useState } from "react";
import { usePendingInvitations, useRevokeInvitation } from "../../api/hooks/invitations";
import type { Invitation, Role } from "../../api/membershipTypes";
import { EmptyState, ErrorState, LoadingState } from "../../components/QueryState";
import { ConfirmDialog } from "./ConfirmDialog";
import { InvitationTable } from "./InvitationTable";
import { actionErrorMessage } from "./messages";
import type { Notice } from "./messages";

interface PendingInvitationsProps {
  organizationId: string;
  actorRole: Role | null;
  onInvite(): void;
  onNotice(notice: Notice): void;
}

/** Lists the pending invitations with a Revoke action. Only owners and admins may see it. */
export function PendingInvitations({
  organizationId,
  actorRole,
  onInvite,
  onNotice,
}: PendingInvitationsProps) {
  const invitations = usePendingInvitations(organizationId);
  const revoke = useRevokeInvitation(organizationId);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const headingId = useId();
  const items = invitations.data?.pages.flatMap((page) => page.items) ?? [];

  const handleRevoke = (invitation: Invitation) => {
    revoke.mutate(invitation, {
      onSuccess: () => {
        setRevoking(null);
        onNotice({
          message: `The invitation for ${invitation.email} was revoked.`,
          isError: false,
        });
      },
      onError: (error) => {
        setRevoking(null);
        onNotice({
          message: actionErrorMessage(`revoke the invitation for ${invitation.email}`, error),
          isError: true,
        });
      },
    });
  };

  return (
    <Box component="section" aria-labelledby={headingId}>
      <Typography variant="h2" id={headingId} sx={{ mb: 1.5 }}>
        Pending invitations
      </Typography>
      {invitations.isPending && <LoadingState label="Loading invitations…" />}
      {invitations.isError && (
        <ErrorState error={invitations.error} onRetry={() => void invitations.refetch()} />
      )}
      {invitations.isSuccess && items.length === 0 && (
        <EmptyState
          title="No pending invitations"
          action={<Button onClick={onInvite}>Invite someone</Button>}
        >
          Invitations that are not accepted, revoked or expired show here.
        </EmptyState>
      )}
      {items.length > 0 && (
        <Stack spacing={1}>
          <InvitationTable
            invitations={items}
            actorRole={actorRole}
            busyId={revoke.isPending ? (revoke.variables?.id ?? null) : null}
            onRevoke={setRevoking}
          />
          {invitations.hasNextPage && (
            <Button
              sx={{ alignSelf: "flex-start" }}
              onClick={() => void invitations.fetchNextPage()}
              disabled={invitations.isFetchingNextPage}
            >
              {invitations.isFetchingNextPage ? "Loading…" : "Show more invitations"}
            </Button>
          )}
        </Stack>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the invitation for ${revoking?.email ?? ""}?`}
        confirmLabel="Revoke"
        isPending={revoke.isPending}
        onConfirm={() => revoking && handleRevoke(revoking)}
        onClose={() => setRevoking(null)}
      >
        Its link stops working. You can invite the same address again later.
      </ConfirmDialog>
    </Box>
  );
}
