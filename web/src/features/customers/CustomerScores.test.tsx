import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import { CustomerScores } from './CustomerScores';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const score = {
  recency: 2, frequency: 3, monetary: 4, segment: 'at_risk', segment_label_en: 'At risk', segment_label_zh: '流失风险',
  purchases: 5, revenue: '1200.00', churn_risk: 72, computed_at: '2026-03-01T02:00:00Z',
  reasons: [{ code: 'recency', points: 40, value: 120, label_en: 'No purchase for 120 days', label_zh: '120 天未购买' }],
};

function renderScores() {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    const url = String(u);
    if (url.endsWith('/customers/c1/scores')) return new Response(JSON.stringify(score), { status: 200 });
    if (url.endsWith('/settings')) return new Response(JSON.stringify({ time_zone: 'UTC', locale: 'en', currency: 'CNY', modules: {} }), { status: 200 });
    return new Response(JSON.stringify({ title: 'Not Found' }), { status: 404 });
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
        <CustomerScores id="c1" />
      </TenantContext.Provider>
    </QueryClientProvider>,
  );
}

describe('<CustomerScores>', () => {
  // axe refuses a progress bar with no accessible name (aria-progressbar-name);
  // the churn risk bar is named after its row, in both languages.
  it('names the churn risk bar for screen readers', async () => {
    renderScores();
    const bar = await screen.findByRole('progressbar');
    expect(bar.getAttribute('aria-label')).toBe('Churn risk');
    expect(bar.getAttribute('aria-valuenow')).toBe('72');
    cleanup();
    await i18n.changeLanguage('zh');
    renderScores();
    const zh = await screen.findByRole('progressbar');
    expect(zh.getAttribute('aria-label')).toBe('流失风险');
  });
});
