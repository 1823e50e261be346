// Saved reports and dashboards as the API gives them, and the pure steps from
// them to the screen: a widget's chart, its pivot, the record list behind a
// point (drill-down) and the grid that members move and resize. Tested on
// their own.
import type { EChartsCoreOption } from 'echarts/core';
import { num, type Metric, type Result } from './api';
import { zoneInstant } from '../../app/format';

export const CHARTS = ['kpi', 'line', 'area', 'bar', 'stacked_bar', 'pie', 'funnel', 'table', 'pivot', 'heatmap'] as const;
export type ChartKind = (typeof CHARTS)[number];

export const PRESETS = ['last_7_days', 'last_30_days', 'last_90_days', 'this_month', 'last_month', 'this_quarter', 'last_quarter', 'this_year', 'last_year', 'last_12_months'] as const;

export const REFRESHES = [0, 60, 300, 900, 3600] as const;

export interface Range {
  preset: string;
  from?: string;
  to?: string;
}

export interface Filter {
  dimension: string;
  op: 'eq' | 'ne' | 'in';
  values: string[];
}

export interface SavedQuery {
  metric: string;
  dimensions?: string[];
  bucket?: string;
  filters?: Filter[];
  compare?: boolean;
  range: Range;
}

export interface Report {
  id: string;
  name: string;
  name_zh: string;
  chart: ChartKind;
  query: SavedQuery;
  owner_id: string;
  shared_roles: string[];
  provisioned?: string;
}

export interface ReportInput {
  name: string;
  name_zh?: string;
  chart: ChartKind;
  query: SavedQuery;
  shared_roles?: string[];
}

export interface Widget {
  report_id: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Dashboard {
  id: string;
  name: string;
  name_zh: string;
  range: Range;
  filters: Filter[];
  refresh_seconds: number;
  owner_id: string;
  shared_roles: string[];
  provisioned?: string;
  widgets: Widget[];
  /** whether the caller may change it (its owner, or bi.manage); absent from an older server: no. */
  can_edit?: boolean;
}

export interface WidgetResult {
  report_id: string;
  name?: string;
  name_zh?: string;
  chart?: ChartKind;
  result?: Result;
  error?: string;
}

export interface DashboardResult {
  as_of: string;
  widgets: WidgetResult[];
}

/** nameOf picks the name of the language shown; an empty Chinese name falls back to the English. */
export const nameOf = (x: { name?: string; name_zh?: string }, lang: string) => (lang.startsWith('zh') && x.name_zh ? x.name_zh : x.name ?? '');

/** dashboardBody is what PUT /bi/dashboards/{id} takes to keep a dashboard as it is but for patch. */
export function dashboardBody(d: Dashboard, patch: Partial<Pick<Dashboard, 'widgets' | 'refresh_seconds' | 'range' | 'filters'>> = {}) {
  const m = { ...d, ...patch };
  return {
    name: m.name,
    name_zh: m.name_zh || undefined,
    range: m.range?.preset ? m.range : undefined,
    filters: m.filters ?? [],
    refresh_seconds: m.refresh_seconds,
    shared_roles: m.shared_roles ?? [],
    widgets: m.widgets.map(({ report_id, x, y, w, h }) => ({ report_id, x, y, w, h })),
  };
}

// ── Charts ─────────────────────────────────────────────────────────────────

/** Laid out is a result ready to draw: categories along x (the time, or the first dimension), one series per value of the other. */
export interface Laid {
  xDim: string;
  sDim?: string;
  cats: string[];
  series: { key?: string; previous?: boolean; values: (number | null)[] }[];
}

/**
 * lay puts time (or the first dimension) along x and the other dimension's
 * values in series, in the order they come; a single dimension compared with
 * the previous period gets a second, previous series.
 */
export function lay(r: Result): Laid | null {
  if (r.dimensions.length === 0) return null;
  let xi = 0;
  let si = r.dimensions.length === 2 ? 1 : -1;
  if (si === 1 && r.dimensions[1] === 'time') [xi, si] = [1, 0];
  const cats: string[] = [];
  const at = new Map<string, number>();
  for (const row of r.rows) {
    const k = row.keys[xi] ?? '';
    if (!at.has(k)) {
      at.set(k, cats.length);
      cats.push(k);
    }
  }
  if (si < 0) {
    const cur = cats.map(() => null as number | null);
    const prev = cats.map(() => null as number | null);
    for (const row of r.rows) {
      const i = at.get(row.keys[xi] ?? '')!;
      cur[i] = num(row.value);
      prev[i] = num(row.previous);
    }
    const series: Laid['series'] = [{ values: cur }];
    if (r.previous_from) series.push({ previous: true, values: prev });
    return { xDim: r.dimensions[xi], cats, series };
  }
  const sAt = new Map<string, number>();
  const series: Laid['series'] = [];
  for (const row of r.rows) {
    const k = row.keys[si] ?? '';
    let j = sAt.get(k);
    if (j === undefined) {
      j = series.length;
      sAt.set(k, j);
      series.push({ key: k, values: cats.map(() => null) });
    }
    series[j].values[at.get(row.keys[xi] ?? '')!] = num(row.value);
  }
  return { xDim: r.dimensions[xi], sDim: r.dimensions[si], cats, series };
}

export interface ChartText {
  current: string;
  previous: string;
  /** name gives a dimension value's display name. */
  name: (dim: string, v: string) => string;
}

const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);

/**
 * widgetOption draws a widget's numbers as its chart: lines (or areas),
 * bars (stacked or not), a pie, a funnel or a heatmap. KPI, table and pivot
 * are not charts (null), nor is an answer without dimensions.
 */
export function widgetOption(chart: string, r: Result, text: ChartText): EChartsCoreOption | null {
  const d = lay(r);
  if (!d || chart === 'kpi' || chart === 'table' || chart === 'pivot') return null;
  const cats = d.cats.map((c) => text.name(d.xDim, c));
  const seriesName = (s: Laid['series'][number]) => (s.previous ? text.previous : s.key !== undefined && d.sDim ? text.name(d.sDim, s.key) : text.current);
  if (chart === 'pie' || chart === 'funnel') {
    const totals = d.cats.map((_, i) => sum(d.series.filter((s) => !s.previous).map((s) => s.values[i])));
    const data = cats.map((name, i) => ({ name, value: totals[i] }));
    return {
      tooltip: { trigger: 'item' },
      legend: { bottom: 0, type: 'scroll' },
      series: [chart === 'pie'
        ? { type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'], data, label: { formatter: '{b}: {c}' } }
        : { type: 'funnel', sort: 'none', left: '10%', width: '80%', top: 8, bottom: 32, data, label: { formatter: '{b}: {c}' } }],
    };
  }
  if (chart === 'heatmap' && d.sDim) {
    const data: [number, number, number | null][] = [];
    let max = 0;
    d.series.forEach((s, j) => s.values.forEach((v, i) => {
      data.push([i, j, v]);
      if (v !== null && v > max) max = v;
    }));
    return {
      tooltip: { position: 'top' },
      grid: { left: 8, right: 16, top: 8, bottom: 56, containLabel: true },
      xAxis: { type: 'category', data: cats, splitArea: { show: true } },
      yAxis: { type: 'category', data: d.series.map(seriesName), splitArea: { show: true } },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 80 },
      series: [{ type: 'heatmap', data, label: { show: true } }],
    };
  }
  const line = chart === 'line' || chart === 'area';
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: cats },
    yAxis: { type: 'value' },
    series: d.series.map((s) => ({
      name: seriesName(s),
      type: line ? 'line' : 'bar',
      data: s.values,
      ...(chart === 'area' ? { areaStyle: {} } : {}),
      ...(chart === 'stacked_bar' && !s.previous ? { stack: 'total' } : {}),
      ...(s.previous ? { lineStyle: { type: 'dashed' } } : {}),
    })),
  };
}

/** pointKeys names the dimension values of a chart point: the category at index and the series. */
export function pointKeys(r: Result, dataIndex: number, seriesIndex: number): Record<string, string> | null {
  const d = lay(r);
  if (!d || dataIndex < 0 || dataIndex >= d.cats.length) return null;
  const out: Record<string, string> = { [d.xDim]: d.cats[dataIndex] };
  const s = d.series[seriesIndex];
  if (d.sDim && s?.key !== undefined) out[d.sDim] = s.key;
  return out;
}

/** Pivot is a two-dimension answer as a table: rows by the first dimension, columns by the second. */
export interface Pivot {
  rowDim: string;
  colDim?: string;
  rows: string[];
  cols: string[];
  cells: (string | null)[][];
}

export function pivot(r: Result): Pivot | null {
  if (r.dimensions.length === 0) return null;
  const rows: string[] = [];
  const cols: string[] = [];
  const ri = new Map<string, number>();
  const ci = new Map<string, number>();
  const two = r.dimensions.length === 2;
  for (const x of r.rows) {
    const a = x.keys[0] ?? '';
    const b = two ? x.keys[1] ?? '' : '';
    if (!ri.has(a)) ri.set(a, rows.push(a) - 1);
    if (!ci.has(b)) ci.set(b, cols.push(b) - 1);
  }
  const cells = rows.map(() => cols.map(() => null as string | null));
  for (const x of r.rows) cells[ri.get(x.keys[0] ?? '')!][ci.get(two ? x.keys[1] ?? '' : '')!] = x.value;
  return { rowDim: r.dimensions[0], colDim: two ? r.dimensions[1] : undefined, rows, cols, cells };
}

// ── Drill-down ─────────────────────────────────────────────────────────────

const bands: Record<string, [string, string][]> = {
  high: [['churn_risk[gte]', '70']],
  medium: [['churn_risk[gte]', '40'], ['churn_risk[lt]', '70']],
  low: [['churn_risk[lt]', '40']],
};

/** DrillAnswer is what drillLink reads of the answer: the range, the bucket, the time zone and a money metric's currency. */
export type DrillAnswer = Pick<Result, 'bucket' | 'from' | 'to' | 'time_zone'> & Partial<Pick<Result, 'currency'>>;

/** funnelByStay are the funnel metrics that count stays in a stage (the stage and pipeline of the stay, not the deal's present ones). */
const funnelByStay = new Set(['funnel.stage_conversion']);

/**
 * drillLink is the record list behind a point: the customers, deals or
 * tickets the metric counts, filtered by the point's dimension values as far
 * as that list can filter (a dimension it cannot is left out). Given r (the
 * answer), the time filters by the moment the metric counts records by
 * (timeFilter): the point's bucket, or the answer's whole range when time is
 * not a dimension; a money metric keeps the deals, or the purchases, in its
 * currency (the list reads a purchase's time, currency and channel as one
 * purchase's). null when the metric's records have no list.
 */
export function drillLink(base: string, metric: string, keys: Record<string, string>, r?: DrillAnswer): string | null {
  const mod = metric.split('.')[0];
  const p = new URLSearchParams();
  const empty = (field: string) => p.append(`${field}[empty]`, 'true');
  const custom = (dim: string, v: string) => {
    if (v) p.append(dim, v);
    else empty(dim);
  };
  const dated = () => {
    if (r) for (const [k, v] of timeFilter(metric, r, keys.time)) p.append(k, v);
  };
  if (mod === 'profiles' || mod === 'purchases') {
    for (const [dim, v] of Object.entries(keys)) {
      switch (dim) {
        case 'lifecycle':
          if (v) p.append('lifecycle', v);
          break;
        case 'owner':
          if (v) p.set('owner', v);
          else empty('owner_id');
          break;
        case 'team':
          // The owner's team ('': an owner in no team, or none).
          if (v) p.set('owner_team', v);
          else empty('owner_team');
          break;
        case 'source':
          if (v) p.append('source', v);
          else empty('source');
          break;
        case 'tag':
          if (v) p.append('tag', v);
          else empty('tags');
          break;
        case 'province':
        case 'city':
          // The address's province or city ('': none, or an empty one).
          if (v) p.append(dim, v);
          else empty(dim);
          break;
        case 'rfm_segment':
          if (v) p.append('rfm.segment', v);
          else empty('rfm.segment');
          break;
        case 'churn_risk_band':
          for (const [k, x] of bands[v] ?? []) p.append(k, x);
          break;
        case 'channel':
          // The purchase's channel: one purchase in the point's time and
          // currency, through it ('': through none).
          if (mod !== 'purchases') break;
          if (v) p.set('purchase_channel', v);
          else empty('purchase_channel');
          break;
        default:
          if (dim.startsWith('custom.')) custom(dim, v);
      }
    }
    if (r?.currency && money.has(metric)) p.set('purchase_currency', r.currency);
    dated();
    const q = p.toString();
    return `${base}/customers${q ? '?' + q : ''}`;
  }
  if (mod === 'funnel') {
    const stay = funnelByStay.has(metric);
    for (const [dim, v] of Object.entries(keys)) {
      switch (dim) {
        case 'pipeline':
          if (v && !stay) p.set('pipeline_id', v);
          break;
        case 'stage':
          if (v && !stay) p.set('stage_id', v);
          break;
        case 'owner':
          if (v) p.set('owner', v);
          else empty('owner');
          break;
        case 'team':
          // The team of the deal's owner ('': an owner in no team, or none).
          if (v) p.set('team', v);
          else empty('team');
          break;
        case 'source':
          if (v) p.append('source', v);
          else empty('source');
          break;
        case 'tag':
          if (v) p.append('tag', v);
          else empty('tag');
          break;
        default:
          if (dim.startsWith('custom.')) custom(dim, v);
      }
    }
    if (r?.currency && money.has(metric)) p.set('currency', r.currency);
    dated();
    const q = p.toString();
    return `${base}/deals${q ? '?' + q : ''}`;
  }
  if (mod === 'tickets') {
    for (const [dim, v] of Object.entries(keys)) {
      if (['status', 'priority', 'type', 'channel'].includes(dim) && v) p.append(dim, v);
      if (dim === 'owner') p.set('assignee', v || 'none');
      if (dim === 'team') p.set('team', v || 'none');
      if (dim.startsWith('custom.')) custom(dim, v);
    }
    if (metric === 'tickets.complaints' && !p.has('type')) p.append('type', 'complaint');
    if (metric === 'tickets.sla_compliance') p.set('with_sla', 'true');
    // Every tickets metric leaves out the tickets merged into another.
    p.set('merged', 'false');
    dated();
    const q = p.toString();
    return `${base}/tickets${q ? '?' + q : ''}`;
  }
  return null;
}

// ── Grid ───────────────────────────────────────────────────────────────────

export const COLS = 12;
const MAX_H = 24;

const overlaps = (a: Widget, b: Widget) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

const clamp = (w: Widget): Widget => {
  const ww = Math.max(1, Math.min(COLS, Math.round(w.w)));
  const h = Math.max(1, Math.min(MAX_H, Math.round(w.h)));
  return { ...w, w: ww, h, x: Math.max(0, Math.min(COLS - ww, Math.round(w.x))), y: Math.max(0, Math.round(w.y)) };
};

/**
 * settle resolves overlaps after widget i moved or grew: i keeps its place,
 * every other widget, top to bottom, goes down until it overlaps none placed
 * before it; then all float up as far as they can. The order of the list (the
 * widgets' positions) is kept.
 */
export function settle(ws: Widget[], i = -1): Widget[] {
  const out = ws.map(clamp);
  const order = out.map((_, k) => k).filter((k) => k !== i).sort((a, b) => out[a].y - out[b].y || out[a].x - out[b].x);
  const placed: number[] = i >= 0 ? [i] : [];
  for (const k of order) {
    while (placed.some((p) => overlaps(out[k], out[p]))) out[k] = { ...out[k], y: out[k].y + 1 };
    placed.push(k);
  }
  // Float up: each widget, top to bottom, rises while nothing is in its way.
  const up = out.map((_, k) => k).sort((a, b) => out[a].y - out[b].y || out[a].x - out[b].x);
  for (const k of up) {
    while (out[k].y > 0 && !out.some((o, j) => j !== k && overlaps({ ...out[k], y: out[k].y - 1 }, o))) out[k] = { ...out[k], y: out[k].y - 1 };
  }
  return out;
}

/** moveWidget puts widget i at column x, row y, and settles the rest. */
export const moveWidget = (ws: Widget[], i: number, x: number, y: number) => settle(ws.map((w, k) => (k === i ? clamp({ ...w, x, y }) : w)), i);

/** resizeWidget gives widget i w columns and h rows, and settles the rest. */
export function resizeWidget(ws: Widget[], i: number, w: number, h: number) {
  const cur = ws[i];
  const ww = Math.max(1, Math.min(COLS - cur.x, Math.round(w)));
  return settle(ws.map((x, k) => (k === i ? clamp({ ...x, w: ww, h }) : x)), i);
}

/** addWidget places a report under everything else, half the grid wide. */
export function addWidget(ws: Widget[], reportId: string, chart: string): Widget[] {
  const bottom = ws.reduce((m, w) => Math.max(m, w.y + w.h), 0);
  const kpi = chart === 'kpi';
  return [...ws, { report_id: reportId, x: 0, y: bottom, w: kpi ? 3 : 6, h: kpi ? 2 : 4 }];
}

/** removeWidget takes widget i off and lets the rest float up. */
export const removeWidget = (ws: Widget[], i: number) => settle(ws.filter((_, k) => k !== i));

/** exportURL is where a widget's XLSX or PNG downloads from, run as a widget of the dashboard. */
export const exportURL = (tenant: string, report: string, format: 'xlsx' | 'png', dashboard?: string) =>
  `/api/v1/t/${encodeURIComponent(tenant)}/bi/reports/${report}/export?format=${format}${dashboard ? `&dashboard=${dashboard}` : ''}`;

// ── Global filters ─────────────────────────────────────────────────────────

/** FilterDraft is one row of the dashboard's filter editor: a dimension is (or is not) one of the values. */
export interface FilterDraft {
  dimension: string;
  negate: boolean;
  values: string[];
}

/** draftOf reads a saved filter into an editor row. */
export const draftOf = (f: Filter): FilterDraft => ({ dimension: f.dimension, negate: f.op === 'ne', values: [...f.values] });

/**
 * filtersOf turns the editor's rows into the dashboard's filters: rows
 * without a dimension or a value are left out; "is" one value is eq, "is"
 * several is in, "is not" is ne (one value or several).
 */
export function filtersOf(rows: FilterDraft[]): Filter[] {
  const out: Filter[] = [];
  for (const r of rows) {
    const values = [...new Set(r.values.map((v) => v.trim()).filter(Boolean))];
    if (!r.dimension || values.length === 0) continue;
    out.push({ dimension: r.dimension, op: r.negate ? 'ne' : values.length === 1 ? 'eq' : 'in', values });
  }
  return out;
}

/**
 * filterDimensions are the dimensions a dashboard filter can name: those
 * that at least one of the widgets' metrics allows, time aside (the range
 * is the dashboard's), in the order the metrics give them.
 */
export function filterDimensions(metrics: Metric[], used: string[]): Metric['dimensions'] {
  const out: Metric['dimensions'] = [];
  const seen = new Set<string>();
  for (const key of used) {
    const m = metrics.find((x) => x.key === key);
    for (const d of m?.dimensions ?? []) {
      if (d.key === 'time' || seen.has(d.key)) continue;
      seen.add(d.key);
      out.push(d);
    }
  }
  return out;
}

/** filterReach counts the widgets (by their metrics) a filter on dim applies to: the server adds it only where the metric allows it. */
export const filterReach = (dim: string, metrics: Metric[], used: string[]) =>
  used.filter((key) => metrics.find((x) => x.key === key)?.dimensions.some((d) => d.key === dim)).length;

// ── Range of the view ──────────────────────────────────────────────────────

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * runParams is what POST /bi/dashboards/{id}/run takes for the range picked
 * to look at: nothing for the dashboard's own (''), the preset, or a custom
 * range from and to (days, both included). null: a custom range not yet
 * whole (a day missing, or to before from), which is not run.
 */
export function runParams(pick: string, from = '', to = ''): Record<string, string> | undefined | null {
  if (!pick) return undefined;
  if (pick !== 'custom') return { range: pick };
  if (!DAY.test(from) || !DAY.test(to) || to < from) return null;
  return { range: 'custom', from, to };
}

// ── Drill-down by time ─────────────────────────────────────────────────────

const dayOf = (d: Date) => d.toISOString().slice(0, 10);
const utcDay = (s: string) => new Date(`${s}T00:00:00Z`);

/** bucketEnd is the first day after the bucket that starts on start (day, week, month, quarter or year). */
export function bucketEnd(start: string, bucket = 'month'): string {
  const d = utcDay(start);
  switch (bucket) {
    case 'day':
      d.setUTCDate(d.getUTCDate() + 1);
      break;
    case 'week':
      d.setUTCDate(d.getUTCDate() + 7);
      break;
    case 'quarter':
      d.setUTCMonth(d.getUTCMonth() + 3);
      break;
    case 'year':
      d.setUTCFullYear(d.getUTCFullYear() + 1);
      break;
    default:
      d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return dayOf(d);
}

/** zoneMidnight is the instant (RFC 3339, UTC) a day begins in the time zone, daylight saving included. */
export function zoneMidnight(day: string, timeZone: string): string {
  return new Date(zoneInstant(utcDay(day).getTime(), timeZone)).toISOString().replace('.000Z', 'Z');
}

/**
 * timeSpan is the days a time bucket of an answer covers within its range:
 * from its first day (or the range's), to the day after its last (or after
 * the range's last), the end excluded.
 */
export function timeSpan(r: Pick<Result, 'bucket' | 'from' | 'to'>, key: string): { from: string; until: string } {
  const from = key < r.from ? r.from : key;
  const end = bucketEnd(key, r.bucket);
  const after = bucketEnd(r.to, 'day');
  return { from, until: end < after ? end : after };
}

/**
 * dateField names the list filter of the moment each metric counts its
 * records by: a creation, a purchase, a move to churned, a win, a loss or
 * either (closed_at), a first answer, a solve, a rating. Metrics counted by
 * a time their list cannot filter on (a stay in a stage, a customer's
 * stage at a moment) are absent: a time bucket of theirs opens the list
 * without a date.
 */
const dateField: Record<string, string> = {
  'profiles.new_customers': 'created_at',
  'profiles.churned_customers': 'churned_at',
  'purchases.revenue': 'purchased_at',
  'purchases.orders': 'purchased_at',
  'purchases.aov': 'purchased_at',
  'purchases.repeat_rate': 'purchased_at',
  'funnel.deals': 'created_at',
  'funnel.won_revenue': 'won_at',
  'funnel.avg_deal_size': 'won_at',
  'funnel.cycle_length': 'won_at',
  'funnel.win_rate': 'closed_at',
  'tickets.tickets': 'created_at',
  'tickets.complaints': 'created_at',
  'tickets.first_response_p50': 'first_responded_at',
  'tickets.first_response_p90': 'first_responded_at',
  'tickets.resolution_p50': 'solved_at',
  'tickets.resolution_p90': 'solved_at',
  'tickets.sla_compliance': 'solved_at',
  'tickets.csat': 'csat_rated_at',
};

/**
 * stockAt are the stock metrics whose list filters by the instant a bucket
 * ends: the deals open then (open_at), the customers created before it and
 * not removed (created_at[lt]; the list never shows removed customers), the
 * customers whose stage then was customer or at risk (active_at).
 */
const stockAt: Record<string, string> = {
  'funnel.pipeline_value': 'open_at',
  'funnel.weighted_value': 'open_at',
  'profiles.customers': 'created_at[lt]',
  'profiles.active_customers': 'active_at',
};

/** money are the metrics that count the deals, or the purchases, in the company's currency only. */
const money = new Set(['funnel.won_revenue', 'funnel.avg_deal_size', 'funnel.pipeline_value', 'funnel.weighted_value', 'purchases.revenue', 'purchases.aov']);

/**
 * timeFilter is the list filter of a time bucket (key, its first day) or,
 * without one, of the answer's whole range: the instants its days begin and
 * end in the company's time zone; for a stock (open deals, customers), the
 * instant it ends; for the churn rate, the customers it counts as churned.
 */
export function timeFilter(metric: string, r: Pick<Result, 'bucket' | 'from' | 'to' | 'time_zone'>, key?: string): [string, string][] {
  if (key !== undefined && !DAY.test(key)) return [];
  const s = key === undefined ? { from: r.from, until: bucketEnd(r.to, 'day') } : timeSpan(r, key);
  if (!DAY.test(s.from) || !DAY.test(s.until)) return [];
  if (stockAt[metric]) return [[stockAt[metric], zoneMidnight(s.until, r.time_zone)]];
  if (metric === 'profiles.churn_rate') {
    // The rate's churned: active at the start (and created before it), with a move to churned within.
    const lo = zoneMidnight(s.from, r.time_zone);
    return [['active_at', lo], ['created_at[lt]', lo], ['churned_at[gte]', lo], ['churned_at[lt]', zoneMidnight(s.until, r.time_zone)]];
  }
  const field = dateField[metric];
  if (!field) return [];
  return [[`${field}[gte]`, zoneMidnight(s.from, r.time_zone)], [`${field}[lt]`, zoneMidnight(s.until, r.time_zone)]];
}
