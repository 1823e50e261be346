import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import OverviewDashboard from './OverviewDashboard';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  void i18n.changeLanguage('en');
});

describe('<OverviewDashboard>', () => {
  it('loads the sales overview dashboard only when it scrolls into view, and links to it', async () => {
    let seen: ((es: { isIntersecting: boolean }[]) => void) | undefined;
    vi.stubGlobal('IntersectionObserver', class {
      constructor(cb: (es: { isIntersecting: boolean }[]) => void) { seen = cb; }
      observe() {}
      disconnect() {}
    });
    const urls: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
      const url = String(u);
      urls.push(url);
      const json = (v: unknown) => new Response(JSON.stringify(v), { status: 200 });
      if (url.includes('/bi/dashboards/d1/run')) return json({ as_of: '2026-01-31T08:00:00Z', widgets: [] });
      if (url.includes('/bi/dashboards/d1')) return json({ id: 'd1', name: 'Sales overview', name_zh: '销售概览', range: { preset: '' }, filters: [], refresh_seconds: 0, owner_id: '', shared_roles: [], widgets: [] });
      if (url.includes('/bi/dashboards')) return json({ items: [{ id: 'd0', name: 'Mine', shared_roles: [] }, { id: 'd1', name: 'Sales overview', name_zh: '销售概览', provisioned: 'sales_overview', shared_roles: [] }] });
      return json({ items: [] });
    });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <App>
          <MemoryRouter>
            <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
              <OverviewDashboard />
            </TenantContext.Provider>
          </MemoryRouter>
        </App>
      </QueryClientProvider>,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(urls).toEqual([]);
    act(() => seen!([{ isIntersecting: true }]));
    expect(await screen.findByText('Sales overview')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Open the dashboard' }).getAttribute('href')).toBe('/t/acme/dashboards/d1');
    expect(await screen.findByTestId('bi-dashboard')).toBeTruthy();
  });
});
