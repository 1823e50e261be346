import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import SaveReport, { reportInput } from './SaveReport';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const question = { metric: 'profiles.customers', dimensions: ['lifecycle'], from: '2026-01-01', to: '2026-03-31', compare: true };

describe('reportInput', () => {
  it('keeps the days picked, or a range that moves with the calendar', () => {
    expect(reportInput(question, { name: ' By stage ', chart: 'pie', range: 'custom', shared_roles: [] })).toEqual({
      name: 'By stage', name_zh: undefined, chart: 'pie', shared_roles: undefined,
      query: { metric: 'profiles.customers', dimensions: ['lifecycle'], bucket: undefined, compare: true, range: { preset: 'custom', from: '2026-01-01', to: '2026-03-31' } },
    });
    expect(reportInput({ ...question, dimensions: [] }, { name: 'n', name_zh: '客户', chart: 'kpi', range: 'this_month', shared_roles: ['agent'] })).toMatchObject({
      name_zh: '客户', shared_roles: ['agent'], query: { dimensions: undefined, range: { preset: 'this_month' } },
    });
  });
});

describe('<SaveReport>', () => {
  it('saves the question as a report and adds it to the dashboard chosen', async () => {
    const calls: { method: string; url: string; body?: unknown }[] = [];
    const dash = { id: 'd1', name: 'Sales overview', name_zh: '销售概览', range: { preset: '' }, filters: [], refresh_seconds: 0, owner_id: 'o', shared_roles: [],
      widgets: [{ report_id: 'r0', x: 0, y: 0, w: 12, h: 4 }] };
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
      const url = String(u);
      const method = init?.method ?? 'GET';
      calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
      if (method === 'POST' && url.endsWith('/bi/reports')) return json({ id: 'r9', chart: 'pie', ...JSON.parse(String(init!.body)) }, 201);
      if (method === 'PUT') return json(dash);
      if (url.endsWith('/bi/dashboards/d1')) return json(dash);
      if (url.includes('/bi/dashboards')) return json({ items: [dash] });
      if (url.endsWith('/roles')) return json({ items: [{ key: 'agent', name: 'Agent' }] });
      return json({ title: 'Not Found' }, 404);
    });
    const closed = vi.fn();
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <App>
          <MemoryRouter>
            <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
              <SaveReport open onClose={closed} question={question} chart="pie" metricLabel="Customers" />
            </TenantContext.Provider>
          </MemoryRouter>
        </App>
      </QueryClientProvider>,
    );
    const name = await screen.findByLabelText('Report name');
    fireEvent.change(name, { target: { value: 'Customers by stage' } });
    await waitFor(() => expect(calls.some((c) => c.url.includes('/bi/dashboards'))).toBe(true));
    const pick = screen.getByLabelText('Add to dashboard');
    fireEvent.mouseDown(pick);
    fireEvent.click(await screen.findByText('Sales overview'));
    fireEvent.click(screen.getByTestId('bi-save-report-ok'));
    await waitFor(() => expect(closed).toHaveBeenCalled());
    const made = calls.find((c) => c.method === 'POST')!;
    expect(made.body).toMatchObject({ name: 'Customers by stage', chart: 'pie', query: { metric: 'profiles.customers', range: { preset: 'custom' } } });
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(put.url).toMatch(/\/bi\/dashboards\/d1$/);
    expect((put.body as { widgets: unknown[] }).widgets).toEqual([{ report_id: 'r0', x: 0, y: 0, w: 12, h: 4 }, { report_id: 'r9', x: 0, y: 4, w: 6, h: 4 }]);
  });
});
