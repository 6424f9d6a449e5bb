import { useTheme } from "@mui/material";
import { useMemo } from "react";
import { formatLatency } from "../lib/format";
import { shapeSparkline } from "../lib/sparkline";
import { LAYOUT } from "../theme";

interface SparklineProps {
  values: readonly (number | null)[];
  width?: number;
  height?: number;
}

/** Latency trend as an inline SVG; gaps in the data are gaps in the line. */
export function Sparkline({
  values,
  width = LAYOUT.sparklineWidth,
  height = LAYOUT.sparklineHeight,
}: SparklineProps) {
  const theme = useTheme();
  const shape = useMemo(() => shapeSparkline(values, width, height), [values, width, height]);
  const color = theme.palette.primary.main;
  const label =
    shape.min === null
      ? "No latency data"
      : `Latency from ${formatLatency(shape.min)} to ${formatLatency(shape.max)}`;

  return (
    <svg
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      {shape.paths.map((d, index) => (
        <path
          key={index}
          d={d}
          fill="none"
          stroke={color}
          strokeWidth={1.5}
          strokeLinejoin="round"
        />
      ))}
      {shape.dots.map((dot, index) => (
        <circle key={index} cx={dot.x} cy={dot.y} r={1.5} fill={color} />
      ))}
    </svg>
  );
}
