/**
 * Line charts as SVG text, for the scaling curves in `bench/results/`. No dependency: the SVG is
 * written by hand. A chart is one or more panels side by side, sharing one legend; each axis is
 * linear (from 0) or logarithmic.
 */

/** One line: points sorted by x. */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: ReadonlyArray<readonly [x: number, y: number]>;
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  /** Where x ticks go; default: every x of the data. */
  readonly xTicks?: readonly number[];
  readonly formatX: (value: number) => string;
  readonly formatY: (value: number) => string;
  readonly series: readonly Series[];
}

const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 64, right: 28, top: 34, bottom: 46 };
const GAP = 24;
const TITLE_HEIGHT = 34;
const LEGEND_ROW = 20;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const round = (value: number) => Math.round(value * 10) / 10;

/** Ticks at 1, 2, 5 × 10ⁿ spanning `max` (linear axes start at 0). */
function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough)!;
  const ticks = [];
  for (let tick = 0; tick < max + step * 0.999; tick += step) ticks.push(tick);
  return ticks;
}

/** Powers of ten spanning [min, max]; with fewer than three, 2× and 5× steps too. */
function logTicks(min: number, max: number): number[] {
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  const powers = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
  if (powers.length > 3) return powers;
  return powers.flatMap((power) => [power, 2 * power, 5 * power]).filter((t) => t <= 10 ** high);
}

function scale(domain: readonly [number, number], range: readonly [number, number], log: boolean) {
  const transform = log ? Math.log10 : (value: number) => value;
  const [d0, d1] = [transform(domain[0]), transform(domain[1])];
  return (value: number) =>
    range[0] + ((transform(value) - d0) / (d1 - d0 || 1)) * (range[1] - range[0]);
}

function renderPanel(panel: Panel, left: number, top: number): string {
  const points = panel.series.flatMap((series) => series.points);
  const finite = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && y >= 0);
  const xs = finite.map(([x]) => x);
  const ys = finite.map(([, y]) => y).filter((y) => !panel.yLog || y > 0);
  const xTicks = [...(panel.xTicks ?? [...new Set(xs)].sort((a, b) => a - b))];
  const xDomain: [number, number] = [Math.min(...xTicks), Math.max(...xTicks)];
  const yTicks = panel.yLog
    ? logTicks(Math.min(...ys, Infinity) || 1, Math.max(...ys, 1))
    : linearTicks(Math.max(...ys, 0));
  const yDomain: [number, number] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const x0 = left + MARGIN.left;
  const x1 = left + PANEL_WIDTH - MARGIN.right;
  const y0 = top + PANEL_HEIGHT - MARGIN.bottom;
  const y1 = top + MARGIN.top;
  const sx = scale(xDomain, [x0, x1], panel.xLog ?? false);
  const sy = scale(yDomain, [y0, y1], panel.yLog ?? false);

  const parts: string[] = [];
  parts.push(
    `<text x="${round((x0 + x1) / 2)}" y="${top + 20}" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(panel.title)}</text>`,
  );
  for (const tick of yTicks) {
    const y = round(sy(tick));
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    parts.push(
      `<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#4b5563">${escapeXml(panel.formatY(tick))}</text>`,
    );
  }
  for (const tick of xTicks) {
    const x = round(sx(tick));
    parts.push(`<line x1="${x}" x2="${x}" y1="${y1}" y2="${y0}" stroke="#f3f4f6"/>`);
    parts.push(
      `<text x="${x}" y="${y0 + 16}" text-anchor="middle" font-size="11" fill="#4b5563">${escapeXml(panel.formatX(tick))}</text>`,
    );
  }
  parts.push(
    `<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#9ca3af"/>`,
  );
  parts.push(
    `<text x="${round((x0 + x1) / 2)}" y="${y0 + 36}" text-anchor="middle" font-size="12" fill="#374151">${escapeXml(panel.xLabel)}</text>`,
  );
  const yMid = round((y0 + y1) / 2);
  parts.push(
    `<text x="${left + 14}" y="${yMid}" text-anchor="middle" font-size="12" fill="#374151" transform="rotate(-90 ${left + 14} ${yMid})">${escapeXml(panel.yLabel)}</text>`,
  );
  for (const series of panel.series) {
    const drawn = series.points.filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!panel.yLog || y > 0),
    );
    if (drawn.length === 0) continue;
    const path = drawn.map(([x, y]) => `${round(sx(x))},${round(sy(y))}`).join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`,
    );
    for (const [x, y] of drawn) {
      parts.push(
        `<circle cx="${round(sx(x))}" cy="${round(sy(y))}" r="3" fill="${series.color}"><title>${escapeXml(`${series.name}: ${panel.formatY(y)} at ${panel.formatX(x)}`)}</title></circle>`,
      );
    }
  }
  return parts.join('\n');
}

const LEGEND_COLUMN = PANEL_WIDTH / 2 - 10;

/** Legend entries per row: two, unless a name would not fit in half a panel. */
function legendColumns(panel: Panel): number {
  const longest = Math.max(...panel.series.map((series) => series.name.length));
  return 36 + longest * 6.6 > LEGEND_COLUMN ? 1 : 2;
}

/** The legend under one panel: a line sample and the name of each of its series. */
function renderLegend(panel: Panel, left: number, top: number): string {
  const columns = legendColumns(panel);
  return panel.series
    .map((series, index) => {
      const x = left + 24 + (index % columns) * LEGEND_COLUMN;
      const y = top + Math.floor(index / columns) * LEGEND_ROW;
      const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
      return [
        `<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${series.color}" stroke-width="2"${dash}/>`,
        `<text x="${x + 36}" y="${y + 4}" font-size="12" fill="#111827">${escapeXml(series.name)}</text>`,
      ].join('\n');
    })
    .join('\n');
}

/** A chart: a title, and panels side by side, each with its legend below it. */
export function renderChart(title: string, panels: readonly Panel[]): string {
  const width = panels.length * PANEL_WIDTH + (panels.length - 1) * GAP;
  const legendRows = Math.max(
    ...panels.map((panel) => Math.ceil(panel.series.length / legendColumns(panel))),
  );
  const height = TITLE_HEIGHT + PANEL_HEIGHT + legendRows * LEGEND_ROW + 12;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="700">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const left = index * (PANEL_WIDTH + GAP);
    parts.push(renderPanel(panel, left, TITLE_HEIGHT));
    parts.push(renderLegend(panel, left, TITLE_HEIGHT + PANEL_HEIGHT + 8));
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** Axis labels for rates: `0`, `500k`, `2.5M`. */
export function formatRate(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(1)}`;
}
