import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import DashboardsPage from './DashboardsPage';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const dashboard = {
  id: 'd1', name: 'Customer insights', name_zh: '客户洞察', range: { preset: '' }, filters: [], refresh_seconds: 0, owner_id: '00000000-0000-0000-0000-000000000000',
  shared_roles: [], provisioned: 'customer_insights', can_edit: true,
  widgets: [{ report_id: 'r1', x: 0, y: 0, w: 3, h: 2 }, { report_id: 'r2', x: 3, y: 0, w: 6, h: 4 }],
};
const mine = { ...dashboard, id: 'd2', name: 'Mine', name_zh: '', provisioned: undefined, owner_id: 'me', widgets: [] };
const base = { time_zone: 'Asia/Shanghai', from: '2026-01-01', to: '2026-01-31' };
const run = {
  as_of: '2026-01-31T08:00:00Z',
  widgets: [
    { report_id: 'r1', name: 'Customers', name_zh: '客户数', chart: 'kpi',
      result: { ...base, metric: 'profiles.customers', unit: 'count', dimensions: [], previous_from: '2025-12-01', previous_to: '2025-12-31', rows: [{ keys: [], value: '120', previous: '100' }] } },
    { report_id: 'r2', name: 'By stage', name_zh: '按阶段', chart: 'table',
      result: { ...base, metric: 'profiles.customers', unit: 'count', dimensions: ['lifecycle'], rows: [{ keys: ['customer'], value: '80' }, { keys: ['lead'], value: '40' }] } },
  ],
};

function Where() {
  const l = useLocation();
  return <div data-testid="where">{l.pathname + l.search}</div>;
}

function renderPage(path: string) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const method = init?.method ?? 'GET';
    calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
    if (url.includes('/bi/dashboards/d1/run')) return json(run);
    if (method === 'PUT' && url.endsWith('/bi/dashboards/d1')) return json({ ...dashboard, ...JSON.parse(String(init!.body)) });
    if (url.endsWith('/bi/dashboards/d1')) return json(dashboard);
    if (url.includes('/bi/dashboards')) return json({ items: [dashboard, mine] });
    if (url.includes('/bi/reports')) return json({ items: [] });
    if (url.endsWith('/members')) return json({ items: [] });
    if (url.endsWith('/settings')) return json({ time_zone: 'Asia/Shanghai', locale: 'en', currency: 'CNY', modules: {} });
    return json({ title: 'Not Found' }, 404);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter initialEntries={[path]}>
          <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
            <Routes>
              <Route path="/t/:tenant/dashboards" element={<DashboardsPage />} />
              <Route path="/t/:tenant/dashboards/:id" element={<DashboardsPage />} />
              <Route path="*" element={<Where />} />
            </Routes>
          </TenantContext.Provider>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return calls;
}

describe('<DashboardsPage>', () => {
  it('lists the dashboards the member can see, in Chinese too', async () => {
    renderPage('/t/acme/dashboards');
    expect(await screen.findByText('Customer insights')).toBeTruthy();
    expect(screen.getByText('Company')).toBeTruthy();
    expect(screen.getByText('Private')).toBeTruthy();
    cleanup();
    await i18n.changeLanguage('zh');
    renderPage('/t/acme/dashboards');
    expect(await screen.findByText('客户洞察')).toBeTruthy();
    expect(screen.getByText('仪表板')).toBeTruthy();
    expect(screen.getByText('Mine')).toBeTruthy(); // no Chinese name: the name serves both
  });

  it('runs a dashboard and draws a KPI with its change and a table, each exportable', async () => {
    const calls = renderPage('/t/acme/dashboards/d1');
    expect(await screen.findByText('120')).toBeTruthy();
    expect(screen.getByText(/\+20%/)).toBeTruthy();
    expect(await screen.findByText('customer')).toBeTruthy();
    expect(screen.getByTestId('bi-as-of').textContent).toMatch(/As of/);
    expect(calls.some((c) => c.method === 'POST' && c.url.endsWith('/bi/dashboards/d1/run'))).toBe(true);
    fireEvent.click(screen.getAllByTestId('bi-export')[1]);
    const png = await screen.findByText('Picture (PNG)');
    expect(png.closest('a')!.getAttribute('href')).toBe('/api/v1/t/acme/bi/reports/r2/export?format=png&dashboard=d1');
  });

  it('drills down from a table row to the filtered customer list', async () => {
    renderPage('/t/acme/dashboards/d1');
    const row = await screen.findByText('customer');
    fireEvent.click(row);
    // The customers at the end of the range: created before it ends in Shanghai.
    await waitFor(() => expect(screen.getByTestId('where').textContent).toBe('/t/acme/customers?lifecycle=customer&created_at%5Blt%5D=2026-01-31T16%3A00%3A00Z'));
  });

  it('moves a widget with the keyboard and saves the layout', async () => {
    const calls = renderPage('/t/acme/dashboards/d1');
    await screen.findByText('120');
    fireEvent.click(screen.getByTestId('bi-edit-layout'));
    const handles = await screen.findAllByTestId('bi-move');
    act(() => {
      handles[1].focus();
    });
    fireEvent.keyDown(handles[1], { key: 'ArrowRight' }); // the table goes one column right
    fireEvent.keyDown(handles[0], { key: 'ArrowRight', shiftKey: true }); // the KPI grows a column
    fireEvent.click(screen.getByTestId('bi-save-layout'));
    await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    const put = calls.find((c) => c.method === 'PUT')!;
    expect((put.body as { widgets: unknown[] }).widgets).toEqual([
      { report_id: 'r1', x: 0, y: 0, w: 4, h: 2 },
      { report_id: 'r2', x: 4, y: 0, w: 6, h: 4 },
    ]);
    expect(await screen.findByText('Layout saved.')).toBeTruthy();
  });
});
