import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import '../../app/i18n';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import AnalyticsPanel from './AnalyticsPanel';
import type { Pipeline } from './board';
import type { Analytics, Forecast } from './analytics';

// The charts draw on a canvas jsdom lacks; their options are tested apart.
vi.mock('./FunnelChart', () => ({
  default: ({ label, option }: { label: string; option: { series: { type: string }[] } }) =>
    <div role="img" aria-label={label} data-testid="chart" data-kind={option.series[0].type} />,
}));

const slow = { timeout: 15_000 };

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const pipeline: Pipeline = {
  id: 'p1', name_en: 'Sales', name_zh: '销售', is_default: true,
  stages: [
    { id: 'lead', pipeline_id: 'p1', name_en: 'Lead', name_zh: '线索', position: 0, probability: 10, kind: 'open' },
    { id: 'won', pipeline_id: 'p1', name_en: 'Won', name_zh: '赢单', position: 1, probability: 100, kind: 'won' },
  ],
};
const analytics: Analytics = {
  pipeline_id: 'p1', from: '2026-01-01', to: '2026-12-31', time_zone: 'Asia/Shanghai', currency: 'USD',
  stages: [{ stage_id: 'lead', entered: 12, advanced: 9, conversion: 0.75, exits: 9, average_days: 4.5 }],
  won: 2, lost: 1, win_rate: 2 / 3, cycle_days: 12.5, won_amount: '3000.0000', average_won: '1500.0000',
  rates: [{ currency: 'EUR', valid_from: '2026-01-01', rate: '1.1000000000' }],
};
const forecast: Forecast = {
  pipeline_id: 'p1', from: '2026-01-01', to: '2026-12-31', currency: 'USD', commit_probability: 75, undated: 2, owners: [],
  rates: [{ currency: 'EUR', valid_from: '2026-01-01', rate: '1.1000000000' }],
  months: [{ month: '2026-11', past: true, forecast_at_start: '777.0000', open: 1, weighted: '100.0000', committed: '200.0000', best_case: '300.0000', won: '400.0000' }],
};

function serve(analyticsStatus = 200) {
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const url = String(input);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': status === 200 ? 'application/json' : 'application/problem+json' } });
    if (url.endsWith('/t/acme/settings')) return json({ name: 'Acme', slug: 'acme', time_zone: 'UTC', locale: 'en', currency: 'USD', modules: {} });
    if (url.includes('/pipelines/p1/analytics')) {
      return analyticsStatus === 200 ? json(analytics)
        : json({ title: 'Conflict', status: 409, detail: 'No exchange rate from GBP into USD is in force on 2026-12-04; an admin adds one.' }, 409);
    }
    if (url.includes('/pipelines/p1/forecast')) return json(forecast);
    return json({ title: 'Not Found', status: 404 }, 404);
  });
}

function renderPanel() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <TenantContext.Provider value={{ tenant_id: 't1', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <AnalyticsPanel pipeline={pipeline} owner="u1" />
        </TenantContext.Provider>
      </App>
    </QueryClientProvider>,
  );
}

describe('the funnel analytics', () => {
  it('shows the headline figures, the funnel, duration and forecast charts with their tables, and the rates used', async () => {
    await i18n.changeLanguage('en');
    const fetchMock = serve();
    renderPanel();
    const panel = await screen.findByTestId('funnel-analytics', {}, slow);
    expect(within(panel).getByText('Analytics and forecast')).toBeTruthy();
    expect(within(panel).getByText('67%')).toBeTruthy();
    expect(within(panel).getByText('12.5 days')).toBeTruthy();
    expect(within(panel).getByText('2 / 1')).toBeTruthy();
    expect((await within(panel).findAllByTestId('chart', {}, slow)).map((c) => c.dataset.kind)).toEqual(['funnel', 'bar', 'bar']);
    const funnel = within(panel).getByTestId('funnel-table');
    expect(within(funnel).getByText('Lead')).toBeTruthy();
    expect(within(funnel).getByText('75%')).toBeTruthy();
    expect(within(funnel).queryByText('Won')).toBeNull(); // the funnel's steps are the open stages
    const fc = within(panel).getByTestId('forecast-table');
    expect(within(fc).getByText('2026-11')).toBeTruthy();
    expect(within(fc).getByText(/777/)).toBeTruthy();
    expect(within(panel).getByText(/2 open deals have no expected close date/)).toBeTruthy();
    expect(within(panel).getByTestId('rates-used').textContent).toBe('Amounts in USD, converted with: 1 EUR = 1.1 USD from 2026-01-01.');
    // The owner filter of the board narrows the figures.
    expect(fetchMock.mock.calls.some(([u]) => String(u).includes('/analytics?owner=u1'))).toBe(true);
  });

  it('speaks Chinese', async () => {
    await i18n.changeLanguage('zh');
    serve();
    renderPanel();
    const panel = await screen.findByTestId('funnel-analytics', {}, slow);
    expect(within(panel).getByText('分析与预测')).toBeTruthy();
    expect(within(panel).getByText('赢单率')).toBeTruthy();
    expect(within(panel).getByText('12.5 天')).toBeTruthy();
    expect(within(panel).getByTestId('rates-used').textContent).toBe('金额以 USD 计，换算汇率：1 EUR = 1.1 USD（自 2026-01-01 起）。');
    await i18n.changeLanguage('en');
  });

  it('says which exchange rate is missing instead of showing figures', async () => {
    await i18n.changeLanguage('en');
    serve(409);
    renderPanel();
    expect(await screen.findByText(/No exchange rate from GBP into USD/, {}, slow)).toBeTruthy();
    expect(screen.queryByTestId('funnel-analytics')).toBeNull();
  });
});
