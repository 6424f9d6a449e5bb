import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, errorMessage } from "../../api/problem";
import type { CheckRun } from "../../api/types";

/** Target of a run: the saved monitor, or the form's current values (not saved). */
export type TestTarget = "saved" | "draft";

export interface TestRunInfo {
  target: TestTarget;
  regions: string[];
  /** Maximum time the API may take: the monitor's timeout plus its reply margin. */
  maxWaitSeconds: number;
}

export type TestRunState =
  | { phase: "idle" }
  | ({ phase: "running"; startedAt: number } & TestRunInfo)
  | { phase: "done"; target: TestTarget; run: CheckRun }
  | { phase: "failed"; message: string; retryAt: number | null };

/**
 * State of one "test now" run at a time. Starting a run aborts the one in flight, and leaving
 * the page aborts it too. After a 429 the state keeps the time from Retry-After until it passes.
 */
export function useTestRun() {
  const [state, setState] = useState<TestRunState>({ phase: "idle" });
  const controllerRef = useRef<AbortController | null>(null);

  useEffect(() => () => controllerRef.current?.abort(), []);

  const retryAt = state.phase === "failed" ? state.retryAt : null;
  useEffect(() => {
    if (retryAt === null) return;
    const timer = setTimeout(
      () =>
        setState((current) =>
          current.phase === "failed" ? { ...current, retryAt: null } : current,
        ),
      Math.max(0, retryAt - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [retryAt]);

  /**
   * Runs `request` and records its outcome. Resolves with the error when the run failed, so the
   * caller can show field errors at the form's inputs, and with null otherwise.
   */
  const start = useCallback(
    async (info: TestRunInfo, request: (signal: AbortSignal) => Promise<CheckRun>) => {
      controllerRef.current?.abort();
      const controller = new AbortController();
      controllerRef.current = controller;
      setState({ phase: "running", startedAt: Date.now(), ...info });

      try {
        const run = await request(controller.signal);
        if (!controller.signal.aborted) setState({ phase: "done", target: info.target, run });
        return null;
      } catch (error) {
        if (controller.signal.aborted) return null;
        const retryAfter = error instanceof ApiError ? error.retryAfterSeconds : null;
        setState({
          phase: "failed",
          message: errorMessage(error),
          retryAt: retryAfter === null ? null : Date.now() + retryAfter * 1000,
        });
        return error;
      }
    },
    [],
  );

  const cancel = useCallback(() => {
    controllerRef.current?.abort();
    controllerRef.current = null;
    setState({ phase: "idle" });
  }, []);

  return { state, start, cancel };
}
