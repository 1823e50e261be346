// The dashboard screen against a fetch stand-in, for the DashboardView tests.
import { vi } from 'vitest';
import { render } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { TenantContext } from '../../app/session';
import DashboardsPage from './DashboardsPage';


const base = { time_zone: 'Asia/Shanghai', from: '2026-01-01', to: '2026-03-31' };
const dashboard = {
  id: 'd1', name: 'Service', name_zh: '服务', range: { preset: '' }, filters: [{ dimension: 'channel', op: 'eq', values: ['email'] }], refresh_seconds: 0,
  owner_id: '00000000-0000-0000-0000-000000000000', shared_roles: [], provisioned: 'service', can_edit: true,
  widgets: [{ report_id: 'r1', x: 0, y: 0, w: 6, h: 4 }, { report_id: 'r2', x: 6, y: 0, w: 6, h: 4 }],
};
const run = {
  as_of: '2026-03-31T08:00:00Z',
  widgets: [
    { report_id: 'r1', name: 'Tickets by month', name_zh: '每月工单', chart: 'table', result: { ...base, metric: 'tickets.tickets', unit: 'count', dimensions: ['time'], bucket: 'month',
      source: 'rollup', as_of: '2026-03-31T01:05:00Z', rows: [{ keys: ['2026-01-01'], value: '7' }, { keys: ['2026-02-01'], value: '9' }] } },
    { report_id: 'r2', name: 'By channel', name_zh: '按渠道', chart: 'table', result: { ...base, metric: 'tickets.tickets', unit: 'count', dimensions: ['channel'],
      rows: [{ keys: ['email'], value: '12' }, { keys: ['phone'], value: '4' }] } },
  ],
};
const metrics = { items: [{ key: 'tickets.tickets', module: 'tickets', label_en: 'Tickets', label_zh: '工单数', description_en: '', description_zh: '', unit: 'count', aggregation: 'count', stock: false,
  dimensions: [{ key: 'time', label_en: 'Time', label_zh: '时间' }, { key: 'channel', label_en: 'Channel', label_zh: '渠道' }, { key: 'priority', label_en: 'Priority', label_zh: '优先级' }] }] };

function Where() {
  const l = useLocation();
  return <div data-testid="where">{l.pathname + l.search}</div>;
}

export function renderPage({ canEdit = true, perms = ['bi.read'] }: { canEdit?: boolean; perms?: string[] } = {}) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  const d = { ...dashboard, can_edit: canEdit };
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
    if (url.includes('/bi/dashboards/d1/run')) return json(run);
    if (method === 'PUT' && url.endsWith('/bi/dashboards/d1')) return json({ ...d, ...body });
    if (url.endsWith('/bi/dashboards/d1')) return json(d);
    if (url.includes('/bi/metrics')) return json(metrics);
    if (method === 'POST' && url.endsWith('/bi/subscriptions')) return json({ id: 's' + calls.length, ...body, next_run_at: '2026-04-06T00:00:00Z' }, 201);
    if (url.endsWith('/roles')) return json({ items: [{ key: 'manager', name: 'Manager' }, { key: 'agent', name: 'Agent' }] });
    if (url.endsWith('/me')) return json({ kind: 'user', role: 'admin', scope: 'all', permissions: perms });
    if (url.endsWith('/members')) return json({ items: [] });
    if (url.endsWith('/settings')) return json({ time_zone: 'Asia/Shanghai', locale: 'en', currency: 'CNY', modules: {} });
    return json({ title: 'Not Found' }, 404);
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <App>
        <MemoryRouter initialEntries={['/t/acme/dashboards/d1']}>
          <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
            <Routes>
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

export const runs = (calls: { method: string; url: string }[]) => calls.filter((c) => c.method === 'POST' && c.url.includes('/bi/dashboards/d1/run')).map((c) => c.url);

