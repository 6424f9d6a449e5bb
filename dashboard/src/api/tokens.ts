import type { TokenPair } from "./types";

/** Storage for the current access and refresh tokens. */
export interface TokenStore {
  get(): StoredTokens | null;
  set(tokens: StoredTokens): void;
  clear(): void;
}

export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
}

export function toStoredTokens(pair: TokenPair): StoredTokens {
  return { accessToken: pair.access_token, refreshToken: pair.refresh_token };
}

export class MemoryTokenStore implements TokenStore {
  private tokens: StoredTokens | null;

  constructor(initial: StoredTokens | null = null) {
    this.tokens = initial;
  }

  get(): StoredTokens | null {
    return this.tokens;
  }

  set(tokens: StoredTokens): void {
    this.tokens = tokens;
  }

  clear(): void {
    this.tokens = null;
  }
}

const STORAGE_KEY = "mometrics.tokens";

/**
 * Token store backed by localStorage, so a reload or a second tab stays signed in. Refresh tokens
 * rotate, so every refresh overwrites both values.
 */
export class LocalStorageTokenStore implements TokenStore {
  get(): StoredTokens | null {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (
        typeof parsed === "object" &&
        parsed !== null &&
        "accessToken" in parsed &&
        "refreshToken" in parsed &&
        typeof parsed.accessToken === "string" &&
        typeof parsed.refreshToken === "string"
      ) {
        return { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken };
      }
    } catch {
      // A corrupt entry counts as signed out.
    }
    return null;
  }

  set(tokens: StoredTokens): void {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
  }

  clear(): void {
    window.localStorage.removeItem(STORAGE_KEY);
  }
}
