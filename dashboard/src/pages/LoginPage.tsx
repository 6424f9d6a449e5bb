import { Navigate, useLocation, useNavigate } from "react-router-dom";
import { AuthCard } from "../auth/AuthCard";
import { useAuth } from "../auth/AuthProvider";
import { LoginForm } from "../auth/LoginForm";
import type { ReturnState } from "../auth/RequireAuth";

export function LoginPage() {
  const { isSignedIn, isSessionExpired, login } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const returnTo = (location.state as ReturnState | null)?.from ?? "/";

  if (isSignedIn) return <Navigate to={returnTo} replace />;

  return (
    <AuthCard title="Sign in">
      <LoginForm
        notice={
          isSessionExpired ? "Your session has expired. Sign in again to continue." : undefined
        }
        onSubmit={async (email, password) => {
          await login(email, password);
          navigate(returnTo, { replace: true });
        }}
      />
    </AuthCard>
  );
}
