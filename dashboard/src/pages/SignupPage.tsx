import { Navigate, useNavigate } from "react-router-dom";
import { useApi } from "../api/ApiContext";
import { AuthCard } from "../auth/AuthCard";
import { useAuth } from "../auth/AuthProvider";
import { SignupForm, type SignupValues } from "../auth/SignupForm";

export function SignupPage() {
  const api = useApi();
  const { isSignedIn, login } = useAuth();
  const navigate = useNavigate();

  if (isSignedIn) return <Navigate to="/" replace />;

  const handleSubmit = async (values: SignupValues) => {
    await api.request("POST", "/auth/register", { body: values, anonymous: true });
    await login(values.email, values.password);
    navigate("/", { replace: true });
  };

  return (
    <AuthCard title="Create an account">
      <SignupForm onSubmit={handleSubmit} />
    </AuthCard>
  );
}
