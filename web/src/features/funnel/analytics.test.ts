import { describe, expect, it } from 'vitest';
import { durationOption, forecastOption, funnelOption, percent, type Analytics, type ChartLabels, type Forecast } from './analytics';
import type { Stage } from './board';

const stage = (id: string, en: string, zh: string, position: number, kind: Stage['kind']): Stage =>
  ({ id, pipeline_id: 'p', name_en: en, name_zh: zh, position, probability: 50, kind });
// Out of order on purpose: the charts follow the stages' positions.
const stages = [stage('q', 'Qualified', '需求确认', 1, 'open'), stage('l', 'Lead', '线索', 0, 'open'), stage('w', 'Won', '赢单', 2, 'won'), stage('x', 'Lost', '输单', 3, 'lost')];
const labels: ChartLabels = { entered: 'Entered', weighted: 'Weighted', committed: 'Committed', bestCase: 'Best case', won: 'Won', atStart: 'At start', days: 'Days' };
const analytics: Analytics = {
  pipeline_id: 'p', from: '2026-01-01', to: '2026-12-31', time_zone: 'Asia/Shanghai', currency: 'CNY',
  stages: [
    { stage_id: 'l', entered: 10, advanced: 4, conversion: 0.4, exits: 8, average_days: 3.25 },
    { stage_id: 'q', entered: 4, advanced: 3, conversion: 0.75, exits: 2, average_days: 10.04 },
    { stage_id: 'w', entered: 3, advanced: 0, conversion: 0, exits: 0, average_days: 0 },
  ],
  won: 3, lost: 1, win_rate: 0.75, cycle_days: 12.5, won_amount: '300.0000', average_won: '100.0000', rates: [],
};
const forecast: Forecast = {
  pipeline_id: 'p', from: '2026-11-01', to: '2027-01-31', currency: 'CNY', commit_probability: 75, undated: 0, rates: [], owners: [],
  months: [
    { month: '2026-11', past: true, forecast_at_start: '80.0000', open: 1, weighted: '10.0000', committed: '60.0000', best_case: '90.0000', won: '50.0000' },
    { month: '2026-12', past: false, open: 2, weighted: '20.5000', committed: '20.0000', best_case: '40.0000', won: '0.0000' },
  ],
};

describe('the analytics charts', () => {
  it('draws the funnel from the open stages in order, with the share that went on', () => {
    const o = funnelOption(analytics, stages, 'en', labels);
    expect(o.series[0].type).toBe('funnel');
    expect(o.series[0].data).toEqual([{ name: 'Lead · 40%', value: 10 }, { name: 'Qualified · 75%', value: 4 }]);
    expect(funnelOption(analytics, stages, 'zh', labels).series[0].data[0].name).toBe('线索 · 40%');
  });

  it('draws the forecast by month, with the forecast at the start of past months only', () => {
    const o = forecastOption(forecast, labels);
    expect(o.xAxis.data).toEqual(['2026-11', '2026-12']);
    const by = Object.fromEntries(o.series.map((s) => [s.name, s.data]));
    expect(by['Weighted']).toEqual([10, 20.5]);
    expect(by['Committed']).toEqual([60, 20]);
    expect(by['Best case']).toEqual([90, 40]);
    expect(by['Won']).toEqual([50, 0]);
    expect(by['At start']).toEqual([80, null]);
    expect(o.yAxis.name).toBe('CNY');
  });

  it('draws the mean days per open stage, and a stage nobody left as 0', () => {
    const o = durationOption(analytics, [...stages, stage('n', 'New', '新', 1.5, 'open')], 'en', labels);
    expect(o.xAxis.data).toEqual(['Lead', 'Qualified', 'New']);
    expect(o.series[0].data).toEqual([3.3, 10, 0]);
  });

  it('writes ratios as whole percentages', () => {
    expect([percent(0), percent(0.333), percent(2 / 3), percent(1)]).toEqual(['0%', '33%', '67%', '100%']);
  });
});
