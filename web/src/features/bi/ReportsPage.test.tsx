import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import ReportsPage from './ReportsPage';
import { fileURL, schedule, subscriptionBody } from './subscriptions';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

describe('subscriptionBody', () => {
  it('names one target and only the day its frequency needs', () => {
    expect(subscriptionBody({ target: 'dashboard:d1', frequency: 'weekly', weekday: 1, month_day: 3, time: '08:00' }))
      .toEqual({ dashboard_id: 'd1', frequency: 'weekly', weekday: 1, time: '08:00' });
    expect(subscriptionBody({ target: 'report:r1', frequency: 'monthly', weekday: 1, month_day: 31, time: '18:30' }))
      .toEqual({ report_id: 'r1', frequency: 'monthly', month_day: 31, time: '18:30' });
    expect(subscriptionBody({ target: 'report:r1', frequency: 'daily', weekday: 2, time: '07:00' })).toEqual({ report_id: 'r1', frequency: 'daily', time: '07:00' });
  });
  it('links a delivered file under the tenant', () => {
    expect(fileURL('acme', 'i1', 2)).toBe('/api/v1/t/acme/bi/inbox/i1/files/2');
  });
  it('describes a schedule in both languages', async () => {
    await import('./locales');
    const t = (k: string, o?: Record<string, unknown>) => i18n.t(k, { ns: 'bi', ...o });
    expect(schedule({ frequency: 'weekly', weekday: 1, time: '08:00' }, t)).toBe('Every Monday at 08:00');
    await i18n.changeLanguage('zh');
    expect(schedule({ frequency: 'weekly', weekday: 1, time: '08:00' }, t)).toBe('每周一 08:00');
    expect(schedule({ frequency: 'monthly', month_day: 31, time: '18:00' }, t)).toBe('每月 31 日 18:00');
  });
});

function renderPage() {
  const posted: unknown[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
    if (url.includes('/bi/reports')) return json({ items: [{ id: 'r1', name: '新客户 New customers' }] });
    if (url.includes('/bi/dashboards')) return json({ items: [{ id: 'd1', name: 'Weekly 周报' }] });
    if (url.includes('/bi/subscriptions') && init?.method === 'POST') {
      posted.push(JSON.parse(String(init.body)));
      return json({ id: 's2', dashboard_id: 'd1', frequency: 'weekly', weekday: 1, time: '08:00', next_run_at: '2026-12-07T00:00:00Z' }, 201);
    }
    if (url.includes('/bi/subscriptions')) return json({ items: [{ id: 's1', report_id: 'r1', member_id: 'm', frequency: 'daily', time: '07:30', next_run_at: '2026-12-07T00:00:00Z' }] });
    if (url.includes('/bi/inbox')) {
      return json({ items: [{ id: 'i1', subscription_id: 's1', title: '新客户 New customers', period: '2026-12-06', scheduled_for: '2026-12-05T23:30:00Z', sent_at: '2026-12-05T23:30:05Z',
        files: [{ position: 0, name: '01 新客户.png', content_type: 'image/png', size: 20480 }, { position: 1, name: 'report.pdf', content_type: 'application/pdf', size: 72000 }] },
      { id: 'i0', subscription_id: 's1', title: 'Old 旧报表', period: '2026-08-01', scheduled_for: '2026-07-31T23:30:00Z', sent_at: '2026-07-31T23:30:05Z',
        files: [], files_expired_at: '2026-10-30T03:10:00Z' }] });
    }
    if (url.endsWith('/settings')) return json({ time_zone: 'Asia/Shanghai', locale: 'en', currency: 'CNY', modules: {} });
    return json({ title: 'Not Found' }, 404);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter initialEntries={['/t/acme/reports']}>
          <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'agent' }}>
            <Routes>
              <Route path="/t/:tenant/reports" element={<ReportsPage />} />
            </Routes>
          </TenantContext.Provider>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return posted;
}

describe('<ReportsPage>', () => {
  it('lists subscriptions and the inbox with downloads, and subscribes to a dashboard', async () => {
    const posted = renderPage();
    expect(await screen.findByText('Every day at 07:30')).toBeTruthy();
    const link = await screen.findByText(/report\.pdf/);
    expect(link.closest('a')?.getAttribute('href')).toBe('/api/v1/t/acme/bi/inbox/i1/files/1');
    expect(screen.getByText(/01 新客户\.png/)).toBeTruthy();
    // A report past the retention says its files went, and when.
    expect(screen.getByTestId('bi-inbox-expired').textContent).toMatch(/^Files removed on .*2026.*retention; the email has a copy\.$/);

    fireEvent.mouseDown(screen.getByLabelText('Report or dashboard'));
    fireEvent.click(await screen.findByText('Dashboard: Weekly 周报'));
    fireEvent.click(screen.getByRole('button', { name: 'Subscribe' }));
    await waitFor(() => expect(posted).toEqual([{ dashboard_id: 'd1', frequency: 'weekly', weekday: 1, time: '08:00' }]));
  }, 60_000); // an Ant Design form and two tables: slow on a loaded machine

  it('speaks Chinese', async () => {
    await i18n.changeLanguage('zh');
    renderPage();
    expect(await screen.findByText('报表收件箱')).toBeTruthy();
    expect(await screen.findByText('每天 07:30')).toBeTruthy();
  });
});
