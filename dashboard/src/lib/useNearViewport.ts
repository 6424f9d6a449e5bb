import { useEffect, useState, type RefObject } from "react";

/**
 * Returns true once the element has come within `marginPx` of the viewport, and stays true.
 * Where IntersectionObserver is missing (old browsers, jsdom) it returns true at once.
 */
export function useNearViewport(ref: RefObject<Element | null>, marginPx: number): boolean {
  const [isNear, setNear] = useState(() => typeof IntersectionObserver === "undefined");

  useEffect(() => {
    const element = ref.current;
    if (isNear || !element) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setNear(true);
      },
      { rootMargin: `${marginPx}px` },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref, marginPx, isNear]);

  return isNear;
}
