export interface SparklineShape {
  /** SVG path data, one per run of consecutive values; nulls split runs. */
  paths: string[];
  /** Values with a gap on both sides, drawn as dots because a path of one point is invisible. */
  dots: { x: number; y: number }[];
  min: number | null;
  max: number | null;
}

/**
 * Scales a latency series (oldest first, null for gaps) into SVG coordinates inside a
 * width x height box with `padding` pixels kept free at the top and bottom. Higher latency is
 * drawn higher up.
 */
export function shapeSparkline(
  values: readonly (number | null)[],
  width: number,
  height: number,
  padding = 2,
): SparklineShape {
  const present = values.filter(
    (value): value is number => value !== null && Number.isFinite(value),
  );
  if (present.length === 0) return { paths: [], dots: [], min: null, max: null };

  const min = Math.min(...present);
  const max = Math.max(...present);
  const span = max - min;
  const usableHeight = height - 2 * padding;
  const step = values.length > 1 ? width / (values.length - 1) : 0;

  const toY = (value: number): number => {
    // A flat series sits in the middle rather than on an edge.
    if (span === 0) return round(height / 2);
    return round(padding + usableHeight * (1 - (value - min) / span));
  };
  const toX = (index: number): number => (values.length > 1 ? round(index * step) : width / 2);

  const paths: string[] = [];
  const dots: { x: number; y: number }[] = [];
  let run: string[] = [];
  let runStart = { x: 0, y: 0 };

  const closeRun = () => {
    if (run.length === 1) dots.push(runStart);
    if (run.length > 1) paths.push(run.join(" "));
    run = [];
  };

  values.forEach((value, index) => {
    if (value === null || !Number.isFinite(value)) {
      closeRun();
      return;
    }
    const point = { x: toX(index), y: toY(value) };
    if (run.length === 0) runStart = point;
    run.push(`${run.length === 0 ? "M" : "L"}${point.x} ${point.y}`);
  });
  closeRun();

  return { paths, dots, min, max };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
