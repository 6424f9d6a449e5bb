// The organisation the user acts in, kept across reloads and sent as X-Organization-Id.
const STORAGE_KEY = "mometrics.organization";

const listeners = new Set<() => void>();

export function readOrganizationId(): string | null {
  return window.localStorage.getItem(STORAGE_KEY);
}

export function writeOrganizationId(id: string | null): void {
  if (id === null) window.localStorage.removeItem(STORAGE_KEY);
  else window.localStorage.setItem(STORAGE_KEY, id);
  for (const listener of listeners) listener();
}

/**
 * Registers a listener called after every writeOrganizationId in this tab, for
 * useSyncExternalStore. Returns the function that removes it.
 */
export function subscribeOrganizationId(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
