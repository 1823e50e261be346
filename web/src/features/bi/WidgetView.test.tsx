import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import WidgetView from './WidgetView';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const result = {
  metric: 'funnel.deals', unit: 'count' as const, dimensions: ['stage', 'owner'], time_zone: 'Asia/Shanghai', from: '2026-01-01', to: '2026-01-31',
  rows: [{ keys: ['s1', 'u1'], value: '3' }, { keys: ['s2', ''], value: '1' }],
};

function renderWidget(chart: string) {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    const url = String(u);
    const json = (v: unknown) => new Response(JSON.stringify(v), { status: 200 });
    if (url.endsWith('/pipelines')) return json({ items: [{ id: 'p1', name_en: 'Sales', name_zh: '销售', is_default: true,
      stages: [{ id: 's1', name_en: 'Qualified', name_zh: '已确认' }, { id: 's2', name_en: 'Won', name_zh: '赢单' }] }] });
    if (url.endsWith('/members')) return json({ items: [{ identity_id: 'u1', name: 'Wang Fang', email: 'w@x' }] });
    return json({});
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <WidgetView chart={chart} result={result} title="Deals" />
        </TenantContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('<WidgetView>', () => {
  it('names stages and owners, not their ids, in a table and a pivot, in Chinese too', async () => {
    renderWidget('table');
    expect(await screen.findByText('Qualified')).toBeTruthy();
    expect(await screen.findByText('Wang Fang')).toBeTruthy();
    expect(screen.getByText('(none)')).toBeTruthy();
    cleanup();
    await i18n.changeLanguage('zh');
    renderWidget('pivot');
    expect(await screen.findByText('赢单')).toBeTruthy();
    expect(screen.getByTestId('bi-pivot').querySelectorAll('tbody tr').length).toBe(2);
  });
});
