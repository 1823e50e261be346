// The pipeline's analytics and forecast as the API gives them, and the chart
// options built from them, apart from the screen: the funnel (deals entering
// each open stage, with the conversion to the next), the forecast by month
// (weighted, committed and best case against what was won, and the forecast
// each past month began with) and the mean time deals spend in each stage.
import { stageName, type Stage } from './board';

export interface RateUsed {
  currency: string;
  valid_from: string;
  rate: string;
}

export interface StageAnalytics {
  stage_id: string;
  entered: number;
  advanced: number;
  conversion: number;
  exits: number;
  average_days: number;
}

export interface Analytics {
  pipeline_id: string;
  from: string;
  to: string;
  time_zone: string;
  currency: string;
  stages: StageAnalytics[];
  won: number;
  lost: number;
  win_rate: number;
  cycle_days: number;
  won_amount: string;
  average_won: string;
  rates: RateUsed[];
}

export interface ForecastFigures {
  open: number;
  weighted: string;
  best_case: string;
  committed: string;
  won: string;
}

export interface ForecastMonth extends ForecastFigures {
  month: string;
  past: boolean;
  forecast_at_start?: string;
}

export interface Forecast {
  pipeline_id: string;
  from: string;
  to: string;
  currency: string;
  commit_probability: number;
  months: ForecastMonth[];
  owners: (ForecastFigures & { owner_id?: string })[];
  undated: number;
  rates: RateUsed[];
}

/** The labels the charts need, in the reader's language. */
export interface ChartLabels {
  entered: string;
  weighted: string;
  committed: string;
  bestCase: string;
  won: string;
  atStart: string;
  days: string;
}

/** percent writes a ratio as a whole percentage. */
export const percent = (x: number) => `${Math.round(x * 100)}%`;

const num = (s: string | undefined) => (s === undefined ? null : Number(s));

/** The pipeline's open stages in order: the funnel's steps. */
export function openStages(stages: Stage[]): Stage[] {
  return [...stages].filter((s) => s.kind === 'open').sort((a, b) => a.position - b.position);
}

/**
 * funnelOption is the funnel chart: one step per open stage, as wide as the
 * deals that entered it in the period, named with the share that went on.
 */
export function funnelOption(a: Analytics, stages: Stage[], lang: string, l: ChartLabels) {
  const by = new Map(a.stages.map((s) => [s.stage_id, s]));
  const data = openStages(stages).map((s) => {
    const f = by.get(s.id);
    return { name: `${stageName(s, lang)} · ${percent(f?.conversion ?? 0)}`, value: f?.entered ?? 0 };
  });
  return {
    tooltip: { trigger: 'item' },
    series: [{ type: 'funnel', name: l.entered, sort: 'none', minSize: '10%', left: '10%', width: '80%', label: { position: 'inside' }, data }],
  };
}

/**
 * forecastOption is the forecast chart: per month the weighted, committed and
 * best-case bars, the won line, and for past months the forecast they began
 * with.
 */
export function forecastOption(f: Forecast, l: ChartLabels) {
  const months = f.months.map((m) => m.month);
  const bar = (name: string, key: keyof ForecastFigures) => ({ type: 'bar', name, data: f.months.map((m) => num(m[key] as string)) });
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 8, right: 8, bottom: 8, top: 36, containLabel: true },
    xAxis: { type: 'category', data: months },
    yAxis: { type: 'value', name: f.currency },
    series: [
      bar(l.weighted, 'weighted'),
      bar(l.committed, 'committed'),
      bar(l.bestCase, 'best_case'),
      { type: 'line', name: l.won, data: f.months.map((m) => num(m.won)) },
      { type: 'line', name: l.atStart, lineStyle: { type: 'dashed' }, data: f.months.map((m) => (m.past ? num(m.forecast_at_start) : null)) },
    ],
  };
}

/** durationOption is the mean days deals spent in each open stage. */
export function durationOption(a: Analytics, stages: Stage[], lang: string, l: ChartLabels) {
  const by = new Map(a.stages.map((s) => [s.stage_id, s]));
  const open = openStages(stages);
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 8, right: 8, bottom: 8, top: 24, containLabel: true },
    xAxis: { type: 'category', data: open.map((s) => stageName(s, lang)) },
    yAxis: { type: 'value', name: l.days },
    series: [{ type: 'bar', name: l.days, data: open.map((s) => Math.round((by.get(s.id)?.average_days ?? 0) * 10) / 10) }],
  };
}
