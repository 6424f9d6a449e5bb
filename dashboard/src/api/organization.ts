// The organisation the user acts in, kept across reloads and sent as X-Organization-Id.
const STORAGE_KEY = "mometrics.organization";

export function readOrganizationId(): string | null {
  return window.localStorage.getItem(STORAGE_KEY);
}

export function writeOrganizationId(id: string | null): void {
  if (id === null) window.localStorage.removeItem(STORAGE_KEY);
  else window.localStorage.setItem(STORAGE_KEY, id);
}
