import { ApiError, errorMessage } from "../../api/problem";

/** A short message about the outcome of an action, shown in a snackbar. */
export interface Notice {
  message: string;
  isError: boolean;
}

/** Upper-cases the first letter, because the API's details start in lower case. */
export function sentence(text: string): string {
  if (text === "") return text;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/**
 * Builds the message for a failed member or invitation action, such as "change the role of
 * ada@example.com". For a 403 it states that the caller's role does not allow the action.
 */
export function actionErrorMessage(action: string, error: unknown): string {
  const reason = sentence(errorMessage(error));
  if (error instanceof ApiError && error.status === 403) {
    return `You are not allowed to ${action}. ${reason}`;
  }
  return `Could not ${action}. ${reason}`;
}
