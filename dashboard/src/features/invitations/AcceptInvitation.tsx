import { Alert, AlertTitle, Button, Link, Stack, Typography } from "@mui/material";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link as RouterLink, useLocation } from "react-router-dom";
import { useApi } from "../../api/ApiContext";
import { useAcceptInvitation } from "../../api/hooks/invitations";
import { queryKeys } from "../../api/hooks/keys";
import { useMe } from "../../api/hooks/me";
import type { JoinedOrganization } from "../../api/membershipTypes";
import { writeOrganizationId } from "../../api/organization";
import { AuthCard } from "../../auth/AuthCard";
import { useAuth } from "../../auth/AuthProvider";
import { LoginForm } from "../../auth/LoginForm";
import { SignupForm, type SignupValues } from "../../auth/SignupForm";
import { LoadingState } from "../../components/QueryState";
import { roleLabel } from "../members/roles";
import { describeAcceptError, type AcceptError } from "./acceptErrors";
import { parseInvitationToken } from "./token";

const TITLE = "Join an organisation";

/**
 * Renders the page of an invitation's accept link. Signed in, it accepts at once and switches to
 * the joined organisation. Signed out, it offers sign-up with the invitation token, or sign-in,
 * after which it accepts.
 */
export function AcceptInvitation() {
  const { hash } = useLocation();
  const { isSignedIn } = useAuth();
  const token = parseInvitationToken(hash);

  if (token === null) {
    return (
      <AuthCard title={TITLE}>
        <Stack spacing={2}>
          <Alert severity="error">
            <AlertTitle>Invitation link incomplete</AlertTitle>
            This address carries no invitation token. Open the whole link from the invitation again:
            it ends with #token= and a long code.
          </Alert>
          <DashboardLink />
        </Stack>
      </AuthCard>
    );
  }
  return isSignedIn ? <AcceptSignedIn token={token} /> : <JoinSignedOut token={token} />;
}

function DashboardLink() {
  return (
    <Link component={RouterLink} to="/" variant="body2">
      Go to the dashboard
    </Link>
  );
}

/** Accepts the invitation as the signed-in user once, then makes it the current organisation. */
function AcceptSignedIn({ token }: { token: string }) {
  const accept = useAcceptInvitation();
  const { mutate } = accept;
  const queryClient = useQueryClient();
  const { logout } = useAuth();
  const me = useMe();
  const [joined, setJoined] = useState<JoinedOrganization | null>(null);
  // StrictMode runs effects twice in development, so this ref keeps it to one accept per token.
  const acceptedToken = useRef<string | null>(null);

  useEffect(() => {
    if (acceptedToken.current === token) return;
    acceptedToken.current = token;
    mutate(token, {
      onSuccess: (organization) => {
        writeOrganizationId(organization.id);
        // Cached resources belong to the previous organisation, and /auth/me lacks the new one.
        queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "me" });
        void queryClient.invalidateQueries({ queryKey: queryKeys.me });
        setJoined(organization);
      },
    });
  }, [token, mutate, queryClient]);

  if (joined) {
    return (
      <AuthCard title={TITLE}>
        <Stack spacing={2}>
          <Alert severity="success" role="status">
            You joined <strong>{joined.name}</strong> as {roleLabel(joined.role)}. The dashboard now
            shows this organisation.
          </Alert>
          <Button component={RouterLink} to="/" replace variant="contained" size="large" autoFocus>
            Open {joined.name}
          </Button>
        </Stack>
      </AuthCard>
    );
  }

  if (accept.isError) {
    const error = describeAcceptError(accept.error);
    return (
      <AuthCard title={TITLE}>
        <Stack spacing={2}>
          <Alert severity="error">
            <AlertTitle>{error.title}</AlertTitle>
            {error.message}
          </Alert>
          {me.data && (
            <Typography variant="body2" color="text.secondary">
              You are signed in as {me.data.email}.
            </Typography>
          )}
          <AcceptErrorActions
            error={error}
            onRetry={() => mutate(token)}
            onSignOut={() => void logout()}
          />
        </Stack>
      </AuthCard>
    );
  }

  return (
    <AuthCard title={TITLE}>
      <LoadingState label="Accepting the invitation…" />
    </AuthCard>
  );
}

function AcceptErrorActions({
  error,
  onRetry,
  onSignOut,
}: {
  error: AcceptError;
  onRetry(): void;
  onSignOut(): void;
}) {
  if (error.failure === "other_address") {
    return (
      <Stack spacing={1}>
        <Button variant="contained" onClick={onSignOut}>
          Sign out and use another account
        </Button>
        <DashboardLink />
      </Stack>
    );
  }
  if (error.failure === "other") {
    return (
      <Stack spacing={1}>
        <Button variant="contained" onClick={onRetry}>
          Try again
        </Button>
        <DashboardLink />
      </Stack>
    );
  }
  return <DashboardLink />;
}

/** Offers sign-up with the invitation token, or sign-in. Either one leads to AcceptSignedIn. */
function JoinSignedOut({ token }: { token: string }) {
  const api = useApi();
  const { login } = useAuth();
  const [mode, setMode] = useState<"signup" | "login">("signup");
  const [invalid, setInvalid] = useState<AcceptError | null>(null);

  const handleSignup = async (values: SignupValues) => {
    try {
      await api.request("POST", "/auth/register", {
        body: { ...values, invitation_token: token },
        anonymous: true,
      });
    } catch (error) {
      const described = describeAcceptError(error);
      // An unknown or spent token fails for every address, so no form can help.
      if (described.failure === "not_found" || described.failure === "no_longer_valid") {
        setInvalid(described);
        return;
      }
      if (described.failure === "other_address") {
        throw new Error(`${described.title}. ${described.message}`);
      }
      throw error;
    }
    // Signed in, AcceptSignedIn accepts again, which returns the membership that sign-up made.
    await login(values.email, values.password);
  };

  if (invalid) {
    return (
      <AuthCard title={TITLE}>
        <Stack spacing={2}>
          <Alert severity="error">
            <AlertTitle>{invalid.title}</AlertTitle>
            {invalid.message}
          </Alert>
          <Link component={RouterLink} to="/login" variant="body2">
            Sign in to Mometrics
          </Link>
        </Stack>
      </AuthCard>
    );
  }

  const switchLink = (label: string, target: "signup" | "login") => (
    <Link
      component="button"
      type="button"
      variant="body2"
      onClick={() => setMode(target)}
      sx={{ alignSelf: "flex-start" }}
    >
      {label}
    </Link>
  );

  return (
    <AuthCard title={TITLE}>
      <Typography sx={{ mb: 2 }}>
        You are invited to an organisation on Mometrics.{" "}
        {mode === "signup"
          ? "Create an account with the email address the invitation was sent to."
          : "Sign in with the email address the invitation was sent to."}
      </Typography>
      {mode === "signup" ? (
        <SignupForm
          hideOrganizationName
          onSubmit={handleSignup}
          footer={switchLink("Already have an account? Sign in", "login")}
        />
      ) : (
        <LoginForm onSubmit={login} footer={switchLink("No account yet? Create one", "signup")} />
      )}
    </AuthCard>
  );
}
