import { describe, expect, it } from 'vitest';
import { change, chartOption, label, showValue, type Result } from './api';

const r: Result = {
  metric: 'profiles.new_customers', unit: 'count', dimensions: ['time'], bucket: 'month', time_zone: 'Asia/Shanghai',
  from: '2026-01-01', to: '2026-03-31', previous_from: '2025-10-01', previous_to: '2025-12-31',
  rows: [
    { keys: ['2026-01-01'], value: '4', previous: '2' },
    { keys: ['2026-02-01'], value: '0', previous: '0' },
    { keys: ['2026-03-01'], value: null, previous: '5' },
  ],
};

describe('bi', () => {
  it('draws time as a line with the previous period beside it, a missing value as a gap', () => {
    const o = chartOption(r, { current: 'This period', previous: 'Previous' }, (_d, v) => v) as { xAxis: { data: string[] }; series: { type: string; data: (number | null)[] }[] };
    expect(o.xAxis.data).toEqual(['2026-01-01', '2026-02-01', '2026-03-01']);
    expect(o.series.map((s) => s.type)).toEqual(['line', 'line']);
    expect(o.series[0].data).toEqual([4, 0, null]);
    expect(o.series[1].data).toEqual([2, 0, 5]);
  });
  it('draws another dimension as bars with its display names', () => {
    const o = chartOption({ ...r, dimensions: ['lifecycle'], previous_from: undefined, rows: [{ keys: ['lead'], value: '3' }] },
      { current: 'c', previous: 'p' }, (d, v) => `${d}:${v}`) as { xAxis: { data: string[] }; series: { type: string }[] };
    expect(o.xAxis.data).toEqual(['lifecycle:lead']);
    expect(o.series).toHaveLength(1);
    expect(o.series[0].type).toBe('bar');
  });
  it('says the change from the previous period, and nothing over zero', () => {
    expect(change('150', '100')).toBe(50);
    expect(change('50', '100')).toBe(-50);
    expect(change('5', '0')).toBeNull();
    expect(change(null, '3')).toBeNull();
  });
  it('labels in the language shown', () => {
    expect(label({ label_en: 'Customers', label_zh: '客户数' }, 'zh')).toBe('客户数');
    expect(label({ label_en: 'Customers', label_zh: '' }, 'zh')).toBe('Customers');
    expect(label({ label_en: 'Customers', label_zh: '客户数' }, 'en')).toBe('Customers');
  });
});

describe('showValue', () => {
  const f = {
    number: (n: number, d?: number) => n.toFixed(d ?? 2),
    money: (a: string, c?: string) => `${c ?? ''} ${a}`,
    noValue: '—',
    hours: (h: string) => `${h} h`,
  };
  it('writes each unit, and a missing value as such', () => {
    expect(showValue('1200.5', 'money', 'CNY', f)).toBe('CNY 1200.5');
    expect(showValue('12.345', 'percent', undefined, f)).toBe('12.3%');
    expect(showValue('5400', 'duration', undefined, f)).toBe('1.5 h');
    expect(showValue('3', 'count', undefined, f)).toBe('3.00');
    expect(showValue(null, 'count', undefined, f)).toBe('—');
    expect(showValue('3', undefined, undefined, f)).toBe('—');
  });
});
