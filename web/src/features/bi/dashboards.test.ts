import { describe, expect, it } from 'vitest';
import type { Result } from './api';
import { addWidget, dashboardBody, drillLink, exportURL, lay, moveWidget, pivot, pointKeys, removeWidget, resizeWidget, settle, widgetOption, type Dashboard, type Widget } from './dashboards';

const base = { unit: 'count' as const, time_zone: 'Asia/Shanghai', from: '2026-01-01', to: '2026-03-31' };
const byMonth: Result = { ...base, metric: 'profiles.customers', dimensions: ['time'], bucket: 'month', previous_from: '2025-10-01', previous_to: '2025-12-31',
  rows: [{ keys: ['2026-01-01'], value: '3', previous: '1' }, { keys: ['2026-02-01'], value: '5', previous: null }] };
const byStage: Result = { ...base, metric: 'funnel.deals', dimensions: ['stage'], rows: [{ keys: ['Lead'], value: '10' }, { keys: ['Won'], value: '4' }] };
// Channel first, time second: time still goes along x.
const twoDims: Result = { ...base, metric: 'tickets.tickets', dimensions: ['channel', 'time'], bucket: 'week',
  rows: [{ keys: ['email', '2026-01-05'], value: '2' }, { keys: ['phone', '2026-01-05'], value: '1' }, { keys: ['email', '2026-01-12'], value: '4' }] };
const text = { current: 'Now', previous: 'Before', name: (d: string, v: string) => `${d}:${v}` };

describe('lay and widgetOption', () => {
  it('puts time along x and the other dimension in series', () => {
    const d = lay(twoDims)!;
    expect(d.xDim).toBe('time');
    expect(d.sDim).toBe('channel');
    expect(d.cats).toEqual(['2026-01-05', '2026-01-12']);
    expect(d.series).toEqual([{ key: 'email', values: [2, 4] }, { key: 'phone', values: [1, null] }]);
  });
  it('adds the previous period as a dashed series', () => {
    const o = widgetOption('line', byMonth, text) as { series: { name: string; type: string; data: unknown[]; lineStyle?: unknown }[] };
    expect(o.series.map((s) => [s.name, s.type, s.data])).toEqual([['Now', 'line', [3, 5]], ['Before', 'line', [1, null]]]);
    expect(o.series[1].lineStyle).toEqual({ type: 'dashed' });
  });
  it('draws every chart type, and none for KPI, table and pivot', () => {
    const area = widgetOption('area', byMonth, text) as { series: { areaStyle?: unknown }[] };
    expect(area.series[0].areaStyle).toEqual({});
    const stacked = widgetOption('stacked_bar', twoDims, text) as { series: { stack?: string; name: string }[] };
    expect(stacked.series.map((s) => [s.name, s.stack])).toEqual([['channel:email', 'total'], ['channel:phone', 'total']]);
    const pie = widgetOption('pie', twoDims, text) as { series: { type: string; data: { name: string; value: number }[] }[] };
    expect(pie.series[0].type).toBe('pie');
    expect(pie.series[0].data).toEqual([{ name: 'time:2026-01-05', value: 3 }, { name: 'time:2026-01-12', value: 4 }]);
    const funnel = widgetOption('funnel', byStage, text) as { series: { type: string; sort: string; data: unknown[] }[] };
    expect(funnel.series[0]).toMatchObject({ type: 'funnel', sort: 'none', data: [{ name: 'stage:Lead', value: 10 }, { name: 'stage:Won', value: 4 }] });
    const heat = widgetOption('heatmap', twoDims, text) as { series: { type: string; data: unknown[] }[]; visualMap: { max: number } };
    expect(heat.series[0].type).toBe('heatmap');
    expect(heat.series[0].data).toContainEqual([1, 0, 4]);
    expect(heat.visualMap.max).toBe(4);
    for (const c of ['kpi', 'table', 'pivot']) expect(widgetOption(c, byStage, text)).toBeNull();
    expect(widgetOption('bar', { ...byStage, dimensions: [], rows: [{ keys: [], value: '1' }] }, text)).toBeNull();
  });
  it('names the dimension values of a clicked point', () => {
    expect(pointKeys(twoDims, 1, 0)).toEqual({ time: '2026-01-12', channel: 'email' });
    expect(pointKeys(byStage, 0, 0)).toEqual({ stage: 'Lead' });
    expect(pointKeys(twoDims, 0, -1)).toEqual({ time: '2026-01-05' });
    expect(pointKeys(byStage, 9, 0)).toBeNull();
  });
  it('pivots two dimensions into rows and columns', () => {
    const p = pivot(twoDims)!;
    expect(p.rows).toEqual(['email', 'phone']);
    expect(p.cols).toEqual(['2026-01-05', '2026-01-12']);
    expect(p.cells).toEqual([['2', '4'], ['1', null]]);
  });
});

describe('drillLink', () => {
  it('opens the customers list filtered by what it can filter', () => {
    expect(drillLink('/t/acme', 'profiles.customers', { lifecycle: 'customer', time: '2026-01-01' })).toBe('/t/acme/customers?lifecycle=customer');
    expect(drillLink('/t/acme', 'profiles.customers', { owner: '' })).toBe('/t/acme/customers?owner_id%5Bempty%5D=true');
    expect(drillLink('/t/acme', 'profiles.customers', { team: 't1' })).toBe('/t/acme/customers?owner_team=t1');
    expect(drillLink('/t/acme', 'purchases.revenue', { team: '' })).toBe('/t/acme/customers?owner_team%5Bempty%5D=true');
    expect(drillLink('/t/acme', 'profiles.customers', { churn_risk_band: 'medium' })).toBe('/t/acme/customers?churn_risk%5Bgte%5D=40&churn_risk%5Blt%5D=70');
    expect(drillLink('/t/acme', 'purchases.revenue', { rfm_segment: 'champions', 'custom.grade': 'A' })).toBe('/t/acme/customers?rfm.segment=champions&custom.grade=A');
    // The address's province and city; none (absent or empty) is [empty].
    expect(drillLink('/t/acme', 'profiles.customers', { province: '广东' })).toBe('/t/acme/customers?province=%E5%B9%BF%E4%B8%9C');
    expect(drillLink('/t/acme', 'purchases.orders', { province: '', city: 'A, B' })).toBe('/t/acme/customers?province%5Bempty%5D=true&city=A%2C+B');
    expect(drillLink('/t/acme', 'profiles.churned_customers', { city: '' })).toBe('/t/acme/customers?city%5Bempty%5D=true');
  });
  it('opens the deal list and the ticket list', () => {
    expect(drillLink('/t/acme', 'funnel.deals', { pipeline: 'p1', stage: 's1' })).toBe('/t/acme/deals?pipeline_id=p1&stage_id=s1');
    expect(drillLink('/t/acme', 'tickets.tickets', { channel: 'email', owner: '' })).toBe('/t/acme/tickets?channel=email&assignee=none&merged=false');
    expect(drillLink('/t/acme', 'nope.x', {})).toBeNull();
  });
  // The answer of a question in Shanghai, by month over the first quarter.
  const answer = { bucket: 'month', from: '2026-01-01', to: '2026-03-31', time_zone: 'Asia/Shanghai', currency: 'CNY' };
  const plain = (s: string | null) => s && decodeURIComponent(s);
  it('opens the deals a funnel point counts: by its stage, owner, source, tag and the time it counts them by', () => {
    expect(plain(drillLink('/t/acme', 'funnel.won_revenue', { time: '2026-02-01', source: 'web', owner: 'u1', tag: '', stage: 's1', pipeline: 'p1', team: 'x' }, answer)))
      .toBe('/t/acme/deals?source=web&owner=u1&tag[empty]=true&stage_id=s1&pipeline_id=p1&team=x&currency=CNY&won_at[gte]=2026-01-31T16:00:00Z&won_at[lt]=2026-02-28T16:00:00Z');
    // The owner's team, and owners in no team.
    expect(plain(drillLink('/t/acme', 'funnel.deals', { team: '' }, answer)))
      .toBe('/t/acme/deals?team[empty]=true&created_at[gte]=2025-12-31T16:00:00Z&created_at[lt]=2026-03-31T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'funnel.deals', { time: '2026-01-01', source: '', 'custom.grade': 'A' }, answer)))
      .toBe('/t/acme/deals?source[empty]=true&custom.grade=A&created_at[gte]=2025-12-31T16:00:00Z&created_at[lt]=2026-01-31T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'funnel.cycle_length', { time: '2026-03-01' }, answer)))
      .toBe('/t/acme/deals?won_at[gte]=2026-02-28T16:00:00Z&won_at[lt]=2026-03-31T16:00:00Z');
    // Won or else lost in the range, when time is not a dimension: the whole range.
    expect(plain(drillLink('/t/acme', 'funnel.win_rate', { owner: '' }, answer)))
      .toBe('/t/acme/deals?owner[empty]=true&closed_at[gte]=2025-12-31T16:00:00Z&closed_at[lt]=2026-03-31T16:00:00Z');
    // A stock: the deals open when the bucket ends, in the company's currency.
    expect(plain(drillLink('/t/acme', 'funnel.pipeline_value', { time: '2026-01-01', stage: 's1' }, answer)))
      .toBe('/t/acme/deals?stage_id=s1&currency=CNY&open_at=2026-01-31T16:00:00Z');
    // Stage conversion counts stays: the present stage and pipeline are not theirs, nor is there a list of stays by time.
    expect(plain(drillLink('/t/acme', 'funnel.stage_conversion', { time: '2026-01-01', stage: 's1', pipeline: 'p1', owner: 'u1' }, answer)))
      .toBe('/t/acme/deals?owner=u1');
  });
  it('opens the customers a purchase or churn point counts: by the purchase\'s time, currency and channel, or the move to churned', () => {
    expect(plain(drillLink('/t/acme', 'purchases.revenue', { time: '2026-02-01', channel: 'web', lifecycle: 'customer' }, answer)))
      .toBe('/t/acme/customers?purchase_channel=web&lifecycle=customer&purchase_currency=CNY&purchased_at[gte]=2026-01-31T16:00:00Z&purchased_at[lt]=2026-02-28T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'purchases.aov', { time: '2026-03-01' }, answer)))
      .toBe('/t/acme/customers?purchase_currency=CNY&purchased_at[gte]=2026-02-28T16:00:00Z&purchased_at[lt]=2026-03-31T16:00:00Z');
    // Orders and the repeat rate count purchases in any currency; a purchase through no channel.
    expect(plain(drillLink('/t/acme', 'purchases.orders', { channel: '' }, answer)))
      .toBe('/t/acme/customers?purchase_channel[empty]=true&purchased_at[gte]=2025-12-31T16:00:00Z&purchased_at[lt]=2026-03-31T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'purchases.repeat_rate', { time: '2026-01-01', source: 'web' }, answer)))
      .toBe('/t/acme/customers?source=web&purchased_at[gte]=2025-12-31T16:00:00Z&purchased_at[lt]=2026-01-31T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'profiles.churned_customers', { time: '2026-02-01', owner: 'u1' }, answer)))
      .toBe('/t/acme/customers?owner=u1&churned_at[gte]=2026-01-31T16:00:00Z&churned_at[lt]=2026-02-28T16:00:00Z');
    // The customers at the end of a bucket: created before it ends (removed ones are never listed); at the end of the range without a time.
    expect(plain(drillLink('/t/acme', 'profiles.customers', { time: '2026-02-01', province: '广东' }, answer)))
      .toBe('/t/acme/customers?province=广东&created_at[lt]=2026-02-28T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'profiles.customers', { lifecycle: 'lead' }, answer)))
      .toBe('/t/acme/customers?lifecycle=lead&created_at[lt]=2026-03-31T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'profiles.customers', { time: '2026-03-01' }, { ...answer, to: '2026-03-15' })))
      .toBe('/t/acme/customers?created_at[lt]=2026-03-15T16:00:00Z');
    // The customers active when the bucket ends (their stage then), with the present stage of the point.
    expect(plain(drillLink('/t/acme', 'profiles.active_customers', { time: '2026-02-01', lifecycle: 'customer' }, answer)))
      .toBe('/t/acme/customers?lifecycle=customer&active_at=2026-02-28T16:00:00Z');
    // The churn rate's churned: active at the bucket's start, created before it, and churned within it.
    expect(plain(drillLink('/t/acme', 'profiles.churn_rate', { time: '2026-02-01' }, answer)))
      .toBe('/t/acme/customers?active_at=2026-01-31T16:00:00Z&created_at[lt]=2026-01-31T16:00:00Z&churned_at[gte]=2026-01-31T16:00:00Z&churned_at[lt]=2026-02-28T16:00:00Z');
  });
  it('opens the tickets a tickets point counts, by the time the metric counts them by', () => {
    expect(plain(drillLink('/t/acme', 'tickets.resolution_p90', { time: '2026-01-05', channel: 'email' }, { ...answer, bucket: 'week' })))
      .toBe('/t/acme/tickets?channel=email&merged=false&solved_at[gte]=2026-01-04T16:00:00Z&solved_at[lt]=2026-01-11T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'tickets.first_response_p50', { time: '2026-02-01', 'custom.grade': '' }, answer)))
      .toBe('/t/acme/tickets?custom.grade[empty]=true&merged=false&first_responded_at[gte]=2026-01-31T16:00:00Z&first_responded_at[lt]=2026-02-28T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'tickets.sla_compliance', { team: '' }, answer)))
      .toBe('/t/acme/tickets?team=none&with_sla=true&merged=false&solved_at[gte]=2025-12-31T16:00:00Z&solved_at[lt]=2026-03-31T16:00:00Z');
    expect(plain(drillLink('/t/acme', 'tickets.csat', { time: '2026-03-01' }, answer)))
      .toBe('/t/acme/tickets?merged=false&csat_rated_at[gte]=2026-02-28T16:00:00Z&csat_rated_at[lt]=2026-03-31T16:00:00Z');
  });
});

describe('the grid', () => {
  const ws: Widget[] = [
    { report_id: 'a', x: 0, y: 0, w: 6, h: 2 },
    { report_id: 'b', x: 6, y: 0, w: 6, h: 2 },
    { report_id: 'c', x: 0, y: 2, w: 12, h: 4 },
  ];
  const overlap = (l: Widget[]) => l.some((p, i) => l.some((q, j) => i < j && p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h));
  it('moves a widget onto another and pushes that one down, with no overlap', () => {
    const out = moveWidget(ws, 1, 0, 0);
    expect(out[1]).toMatchObject({ x: 0, y: 0 });
    expect(overlap(out)).toBe(false);
    expect(out.map((w) => w.report_id)).toEqual(['a', 'b', 'c']);
  });
  it('keeps widgets inside the 12 columns and floats them up', () => {
    expect(moveWidget(ws, 0, 20, -3)[0]).toMatchObject({ x: 6, y: 0 });
    const out = moveWidget(ws, 2, 0, 30);
    expect(out[2].y).toBe(2); // floats back up under the first row
  });
  it('resizes within the grid and pushes what is below', () => {
    const out = resizeWidget(ws, 0, 12, 3);
    expect(out[0]).toMatchObject({ w: 12, h: 3 });
    expect(overlap(out)).toBe(false);
    expect(resizeWidget(ws, 1, 20, 0)[1]).toMatchObject({ w: 6, h: 1 });
  });
  it('adds a report under everything and removes one', () => {
    const added = addWidget(ws, 'd', 'kpi');
    expect(added[3]).toEqual({ report_id: 'd', x: 0, y: 6, w: 3, h: 2 });
    const removed = removeWidget(ws, 0);
    expect(removed.map((w) => w.report_id)).toEqual(['b', 'c']);
    expect(removed[1].y).toBe(2);
    expect(overlap(settle([...ws, { report_id: 'x', x: 3, y: 1, w: 6, h: 2 }]))).toBe(false);
  });
  it('keeps the rest of a dashboard when saving its widgets', () => {
    const d: Dashboard = { id: 'd1', name: 'Sales', name_zh: '销售', range: { preset: '' }, filters: [], refresh_seconds: 60, owner_id: 'o', shared_roles: ['agent'], widgets: ws };
    expect(dashboardBody(d, { widgets: ws.slice(0, 1) })).toEqual({ name: 'Sales', name_zh: '销售', range: undefined, filters: [], refresh_seconds: 60, shared_roles: ['agent'],
      widgets: [{ report_id: 'a', x: 0, y: 0, w: 6, h: 2 }] });
    expect(exportURL('acme', 'r1', 'png', 'd1')).toBe('/api/v1/t/acme/bi/reports/r1/export?format=png&dashboard=d1');
  });
});
