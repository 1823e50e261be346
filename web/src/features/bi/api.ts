// BI as the API gives it: the metrics offered, a question and its answer,
// and the pure steps from an answer to a chart (tested on their own).
import type { EChartsCoreOption } from 'echarts/core';

export type Unit = 'count' | 'money' | 'duration' | 'percent' | 'score';

export interface Dimension {
  key: string;
  label_en: string;
  label_zh: string;
}

export interface Metric {
  key: string;
  module: string;
  label_en: string;
  label_zh: string;
  description_en: string;
  description_zh: string;
  unit: Unit;
  aggregation: string;
  stock: boolean;
  dimensions: Dimension[];
}

export interface Question {
  metric: string;
  dimensions?: string[];
  bucket?: string;
  from: string;
  to: string;
  compare?: boolean;
}

export interface Row {
  keys: string[];
  value: string | null;
  previous?: string | null;
}

export interface Result {
  metric: string;
  unit: Unit;
  currency?: string;
  dimensions: string[];
  bucket?: string;
  time_zone: string;
  from: string;
  to: string;
  previous_from?: string;
  previous_to?: string;
  rows: Row[];
  /** where the numbers came from: the daily rollups, or the records themselves (absent: the records). */
  source?: 'rollup' | 'records';
  /** with rollups: when the numbers were exact (RFC 3339). */
  as_of?: string;
}

export const BUCKETS = ['day', 'week', 'month', 'quarter', 'year'] as const;

/** label picks the text of the language shown. */
export const label = (x: { label_en: string; label_zh: string }, lang: string) => (lang.startsWith('zh') ? x.label_zh || x.label_en : x.label_en);

/** num reads a value; null stays null (no value, not zero). */
export const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));

/** The formatting a value in a metric's unit needs: numbers and money in
 * the company's settings, and the two texts that depend on the language. */
export interface ValueFormat {
  number: (n: number, digits?: number) => string;
  money: (amount: string, currency?: string) => string;
  noValue: string;
  hours: (hours: string) => string;
}

/** showValue writes a metric's value in its unit; a missing value says so. */
export function showValue(v: string | null | undefined, unit: Unit | undefined, currency: string | undefined, f: ValueFormat): string {
  const n = num(v);
  if (n === null || !unit) return f.noValue;
  switch (unit) {
    case 'money':
      return f.money(String(v), currency);
    case 'percent':
      return `${f.number(n, 1)}%`;
    case 'duration':
      return f.hours(f.number(n / 3600, 1));
    default:
      return f.number(n, 2);
  }
}

/**
 * change is the relative change from previous to value in percent, or null
 * when either is missing or the previous is zero.
 */
export function change(value: string | null | undefined, previous: string | null | undefined): number | null {
  const a = num(value);
  const b = num(previous);
  if (a === null || b === null || b === 0) return null;
  return ((a - b) / Math.abs(b)) * 100;
}

/** total is the single value of a question asked without dimensions. */
export function total(r: Result): Row | undefined {
  return r.dimensions.length === 0 ? r.rows[0] : undefined;
}

/**
 * chartOption draws an answer: a line over time (with the previous period
 * dashed), or bars by the one other dimension. name gives a dimension
 * value's display name, fmt a value's.
 */
export function chartOption(r: Result, names: { current: string; previous: string }, name: (dim: string, v: string) => string): EChartsCoreOption {
  const byTime = r.dimensions[0] === 'time';
  const cats = r.rows.map((x) => (x.keys.length ? name(r.dimensions[0], x.keys[0]) : ''));
  const series: Record<string, unknown>[] = [
    { name: names.current, type: byTime ? 'line' : 'bar', data: r.rows.map((x) => num(x.value)), smooth: false },
  ];
  if (r.previous_from) {
    series.push({ name: names.previous, type: byTime ? 'line' : 'bar', data: r.rows.map((x) => num(x.previous)), lineStyle: { type: 'dashed' } });
  }
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: cats },
    yAxis: { type: 'value' },
    series,
  };
}

/** Freshness says how fresh a widget's numbers are: live from the records, or from the daily rollups as of a time (HH:MM in the company's zone). */
export type Freshness = { kind: 'records' } | { kind: 'rollup'; time: string };

/** hhmm writes an instant as HH:MM (24-hour) in a time zone; '' when it is not a time. */
export function hhmm(iso: string, timeZone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  } catch {
    return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
  }
}

/** freshness reads a result's source; a result without one (or rollups without a time) counts as live from the records. */
export function freshness(r: Pick<Result, 'source' | 'as_of' | 'time_zone'>): Freshness {
  if (r.source === 'rollup' && r.as_of) {
    const time = hhmm(r.as_of, r.time_zone);
    if (time) return { kind: 'rollup', time };
  }
  return { kind: 'records' };
}
