import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import AnalyticsPage from './AnalyticsPage';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const metrics = {
  items: [{
    key: 'profiles.customers', module: 'profiles', label_en: 'Customers', label_zh: '客户数', description_en: 'Customers at the end of each period.',
    description_zh: '每个周期末的客户数。', unit: 'count', aggregation: 'count', stock: true,
    dimensions: [{ key: 'time', label_en: 'Time', label_zh: '时间' }, { key: 'lifecycle', label_en: 'Lifecycle stage', label_zh: '生命周期阶段' }],
  }],
};
const answer = {
  metric: 'profiles.customers', unit: 'count', dimensions: ['time'], bucket: 'month', time_zone: 'Asia/Shanghai', from: '2026-01-01', to: '2026-02-28',
  previous_from: '2025-11-01', previous_to: '2025-12-31',
  rows: [{ keys: ['2026-01-01'], value: '12', previous: '10' }, { keys: ['2026-02-01'], value: '15', previous: '12' }],
};

function renderPage() {
  const asked: unknown[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
    if (url.endsWith('/bi/metrics')) return json(metrics);
    if (url.endsWith('/bi/query')) {
      asked.push(JSON.parse(String(init?.body)));
      return json(answer);
    }
    if (url.endsWith('/members')) return json({ items: [] });
    if (url.endsWith('/settings')) return json({ time_zone: 'Asia/Shanghai', locale: 'en', currency: 'CNY', modules: {} });
    return json({ title: 'Not Found' }, 404);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter initialEntries={['/t/acme/analytics']}>
          <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
            <Routes>
              <Route path="/t/:tenant/analytics" element={<AnalyticsPage />} />
            </Routes>
          </TenantContext.Provider>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return asked;
}

describe('<AnalyticsPage>', () => {
  it('asks the first metric by month against the previous period, and shows its numbers', async () => {
    const asked = renderPage();
    await screen.findByTestId('bi-answer');
    expect(asked[0]).toMatchObject({ metric: 'profiles.customers', dimensions: ['time'], bucket: 'month', compare: true });
    expect(await screen.findByText('Customers at the end of each period.')).toBeTruthy();
    expect(screen.getAllByText('15').length).toBeGreaterThan(0);
    expect(screen.getByText('+25%')).toBeTruthy();
  });

  it('reads in Chinese', async () => {
    await i18n.changeLanguage('zh');
    renderPage();
    await screen.findByTestId('bi-answer');
    await waitFor(() => expect(screen.getByText('每个周期末的客户数。')).toBeTruthy());
    expect(screen.getByText('数据分析')).toBeTruthy();
    expect(screen.getAllByText('上期').length).toBeGreaterThan(0);
  });
});
