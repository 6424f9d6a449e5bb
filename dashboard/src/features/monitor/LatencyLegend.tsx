import { Box, Chip, Stack, Typography, useTheme } from "@mui/material";
import { formatLatency } from "../../lib/format";
import { SERIES_COLORS } from "../../theme";
import { valueAt, type LatencyChartData, type LatencySeriesInfo } from "./chartData";

function LineSwatch({ color, isDashed }: { color: string; isDashed: boolean }) {
  return (
    <Box component="svg" width={18} height={8} aria-hidden sx={{ flex: "none" }}>
      <line
        x1={0}
        y1={4}
        x2={18}
        y2={4}
        stroke={color}
        strokeWidth={2}
        strokeDasharray={isDashed ? "5 3" : undefined}
      />
    </Box>
  );
}

interface LatencyLegendProps {
  data: LatencyChartData;
  hidden: ReadonlySet<string>;
  /** Data row under the chart's cursor, or null to show each line's latest value. */
  row: number | null;
  onToggle(key: string): void;
}

/**
 * Legend of the latency chart: one group per region with a button per percentile that shows or
 * hides its line, labelled with the value under the cursor or the latest one.
 */
export function LatencyLegend({ data, hidden, row, onToggle }: LatencyLegendProps) {
  const theme = useTheme();
  const byRegion = new Map<string, { series: LatencySeriesInfo; index: number }[]>();
  data.series.forEach((series, index) => {
    const entries = byRegion.get(series.region) ?? [];
    entries.push({ series, index });
    byRegion.set(series.region, entries);
  });

  return (
    <Stack direction="row" flexWrap="wrap" useFlexGap spacing={2} sx={{ mt: 1.5 }}>
      {[...byRegion].map(([region, entries]) => (
        <Stack
          key={region}
          role="group"
          aria-label={`${region} latency`}
          direction="row"
          alignItems="center"
          spacing={0.75}
        >
          <Typography variant="body2" sx={{ fontWeight: 600 }}>
            {region}
          </Typography>
          {entries.map(({ series, index }) => {
            const isShown = !hidden.has(series.key);
            const value = formatLatency(valueAt(data, index, row));
            const color = SERIES_COLORS[series.regionIndex % SERIES_COLORS.length];
            return (
              <Chip
                key={series.key}
                size="small"
                variant="outlined"
                clickable
                onClick={() => onToggle(series.key)}
                aria-pressed={isShown}
                aria-label={`${series.key}: ${value}`}
                icon={<LineSwatch color={color} isDashed={series.percentile === "p95"} />}
                label={`${series.percentile} ${value}`}
                sx={{
                  fontWeight: 500,
                  fontVariantNumeric: "tabular-nums",
                  opacity: isShown ? 1 : 0.5,
                  textDecoration: isShown ? "none" : "line-through",
                  borderColor: isShown ? color : theme.palette.divider,
                }}
              />
            );
          })}
        </Stack>
      ))}
    </Stack>
  );
}
