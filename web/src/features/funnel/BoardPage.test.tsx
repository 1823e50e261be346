import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import '../../app/i18n';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import BoardPage from './BoardPage';
import type { Board, Deal, Pipeline } from './board';

// The analytics' charts draw on a canvas jsdom lacks (AnalyticsPanel.test
// covers the panel).
vi.mock('./FunnelChart', () => ({ default: ({ label }: { label: string }) => <div role="img" aria-label={label} /> }));

// A busy machine renders Ant Design slowly; the waits allow for it.
const slow = { timeout: 15_000 };

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const stage = (id: string, en: string, zh: string, position: number, kind: 'open' | 'won' | 'lost', probability: number) =>
  ({ id, pipeline_id: 'p1', name_en: en, name_zh: zh, position, probability, kind });
const pipeline: Pipeline = {
  id: 'p1', name_en: 'Sales', name_zh: '销售', is_default: true,
  stages: [stage('lead', 'Lead', '线索', 0, 'open', 10), stage('won', 'Won', '赢单', 1, 'won', 100), stage('lost', 'Lost', '输单', 2, 'lost', 0)],
};
const deal = (id: string, title: string, amount: string, stageId: string): Deal => ({
  id, title, customer_id: 'c1', amount, currency: 'USD', pipeline_id: 'p1', stage_id: stageId, position: '1', tags: [], version: 1, updated_at: '2026-12-01T00:00:00Z',
});

// The server: a board that changes once the deal is won.
function server(foreign = false) {
  let won = false;
  const board = (): Board => ({
    pipeline,
    currency: 'USD',
    columns: foreign ? [
      { stage_id: 'lead', count: 2, rotting: 0, amount: '410.0000', weighted: '41.0000',
        totals: [{ currency: 'EUR', amount: '100.0000', weighted: '10.0000' }, { currency: 'USD', amount: '300.0000', weighted: '30.0000' }], deals: [] },
      { stage_id: 'won', count: 0, rotting: 0, amount: '0.0000', weighted: '0.0000', totals: [], deals: [] },
      { stage_id: 'lost', count: 0, rotting: 0, amount: '0.0000', weighted: '0.0000', totals: [], deals: [] },
    ] : [
      { stage_id: 'lead', count: won ? 1 : 2, rotting: 1, totals: [{ currency: 'USD', amount: won ? '200.0000' : '300.0000', weighted: won ? '20.0000' : '30.0000' }],
        deals: won ? [deal('d2', 'Renewal', '200.0000', 'lead')] : [deal('d1', 'ERP rollout', '100.0000', 'lead'), deal('d2', 'Renewal', '200.0000', 'lead')] },
      { stage_id: 'won', count: won ? 1 : 0, rotting: 0, totals: won ? [{ currency: 'USD', amount: '100.0000', weighted: '100.0000' }] : [],
        deals: won ? [deal('d1', 'ERP rollout', '100.0000', 'won')] : [] },
      { stage_id: 'lost', count: 0, rotting: 0, totals: [], deals: [] },
    ],
  });
  const moves: { url: string; body: unknown }[] = [];
  const lists: string[] = [];
  let analyticsReads = 0;
  const fetchMock = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });
    if (url.endsWith('/t/acme/pipelines')) return json({ items: [pipeline] });
    if (url.includes('/t/acme/pipelines/p1/board')) return json(board());
    if (url.endsWith('/t/acme/settings')) return json({ name: 'Acme', slug: 'acme', time_zone: 'UTC', locale: 'en', currency: 'USD', modules: {} });
    if (url.endsWith('/t/acme/members')) return json({ items: [] });
    if (url.includes('/t/acme/pipelines/p1/analytics')) {
      analyticsReads++;
      return json({ pipeline_id: 'p1', from: '2026-01-01', to: '2026-12-31', time_zone: 'UTC', currency: 'USD', won: won ? 1 : 0, lost: 0, win_rate: won ? 1 : 0,
        cycle_days: 0, won_amount: '0', average_won: '0', rates: [], stages: [{ stage_id: 'lead', entered: 2, advanced: won ? 1 : 0, conversion: won ? 0.5 : 0, exits: 0, average_days: 0 }] });
    }
    if (url.includes('/t/acme/pipelines/p1/forecast')) {
      return json({ pipeline_id: 'p1', from: '2026-01-01', to: '2026-12-31', currency: 'USD', commit_probability: 75, undated: 0, rates: [], owners: [], months: [] });
    }
    if (url.includes('/t/acme/deals?')) {
      lists.push(url);
      return json({ items: [{ ...deal('d9', 'Won in February', '500.0000', 'won'), won_at: '2026-02-10T00:00:00Z' }] });
    }
    if (url.endsWith('/t/acme/lost-reasons')) return json({ items: [{ id: 'r1', name_en: 'Price too high', name_zh: '价格太高' }] });
    if (url.includes('/deals/d1/move') && init?.method === 'POST') {
      moves.push({ url, body: JSON.parse(String(init.body)) });
      won = true;
      return json({ ...deal('d1', 'ERP rollout', '100.0000', 'won'), version: 2 });
    }
    return json({ title: 'Not Found', status: 404 }, 404);
  });
  return { fetchMock, moves, lists, analyticsReads: () => analyticsReads };
}

function renderBoard() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <TenantContext.Provider value={{ tenant_id: 't1', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <MemoryRouter>
            <BoardPage />
          </MemoryRouter>
        </TenantContext.Provider>
      </App>
    </QueryClientProvider>,
  );
}

describe('the deals behind a dashboard figure', () => {
  afterEach(() => window.history.replaceState(null, '', '/'));
  it('lists the deals a drill-down link filters, of every pipeline, and goes back to the board', async () => {
    await i18n.changeLanguage('en');
    const { lists } = server();
    window.history.replaceState(null, '', '/t/acme/deals?source=web&source=fair&owner%5Bempty%5D=true&team=t9&won_at%5Bgte%5D=2026-01-31T16%3A00%3A00Z&won_at%5Blt%5D=2026-02-28T16%3A00%3A00Z&currency=CNY&colour=red');
    renderBoard();
    expect(await screen.findByText('Won in February', {}, slow)).toBeTruthy();
    const q = new URL(lists[0], 'http://x').searchParams;
    expect(q.getAll('source')).toEqual(['web', 'fair']);
    expect(q.get('team')).toBe('t9');
    expect([q.get('owner[empty]'), q.get('won_at[gte]'), q.get('won_at[lt]'), q.get('currency'), q.get('colour')])
      .toEqual(['true', '2026-01-31T16:00:00Z', '2026-02-28T16:00:00Z', 'CNY', null]);
    expect(screen.queryByTestId('board')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Back to the board' }));
    expect(await screen.findByTestId('column-lead', {}, slow)).toBeTruthy();
    expect(window.location.search).toBe('?colour=red');
  });
});

describe('the deals board', () => {
  it('shows each column with its count, totals and rotting count, and updates the figures after a quick win without a reload', async () => {
    await i18n.changeLanguage('en');
    const { moves, analyticsReads } = server();
    renderBoard();
    const lead = await screen.findByTestId('column-lead', {}, slow);
    expect(within(lead).getByTestId('column-count').textContent).toBe('2 deals');
    await waitFor(() => expect(screen.getByTestId('funnel-analytics')).toBeTruthy(), slow);
    const readsBefore = analyticsReads();
    expect(within(lead).getByTestId('column-total').textContent).toMatch(/300/);
    expect(within(lead).getByTestId('column-total').textContent).toMatch(/weighted .*30/);
    expect(within(lead).getByTestId('column-rotting')).toBeTruthy();
    expect(within(screen.getByTestId('column-won')).getByTestId('column-count').textContent).toBe('0 deals');

    const card = within(lead).getAllByTestId('deal-card')[0];
    fireEvent.click(within(card).getByTestId('mark-won'));
    await waitFor(() => expect(moves).toHaveLength(1), slow);
    expect(moves[0].body).toEqual({ stage_id: 'won', version: 1 });
    await waitFor(() => expect(within(screen.getByTestId('column-won')).getByTestId('column-count').textContent).toBe('1 deal'), slow);
    expect(within(screen.getByTestId('column-lead')).getByTestId('column-count').textContent).toBe('1 deal');
    expect(within(screen.getByTestId('column-won')).getByText('ERP rollout')).toBeTruthy();
    // The analytics under the board follow the move too.
    await waitFor(() => expect(analyticsReads()).toBeGreaterThan(readsBefore), slow);
    await waitFor(() => expect(within(screen.getByTestId('funnel-analytics')).getByText('1 / 0')).toBeTruthy(), slow);
  });

  it('adds up a column of several currencies in the company\'s, and shows no sum for a column of its currency only', async () => {
    await i18n.changeLanguage('en');
    server(true);
    renderBoard();
    const lead = await screen.findByTestId('column-lead', {}, slow);
    expect(within(lead).getAllByTestId('column-total')).toHaveLength(2);
    expect(within(lead).getByTestId('column-base').textContent).toMatch(/In all .*410.*weighted .*41/);
    expect(within(screen.getByTestId('column-won')).queryByTestId('column-base')).toBeNull();
  });

  it('asks for the reason before a deal is lost, and moves nothing without one', async () => {
    await i18n.changeLanguage('zh');
    const { moves } = server();
    renderBoard();
    const lead = await screen.findByTestId('column-lead', {}, slow);
    expect(within(lead).getByText('线索')).toBeTruthy();
    expect(within(lead).getByTestId('column-count').textContent).toBe('2 个商机');
    fireEvent.click(within(within(lead).getAllByTestId('deal-card')[0]).getByTestId('mark-lost'));
    const dialog = await screen.findByRole('dialog', {}, slow);
    expect(within(dialog).getByText('“ERP rollout”为什么输单？')).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: /标记输单/ }));
    await waitFor(() => expect(within(dialog).getByText('选择原因')).toBeTruthy(), slow);
    expect(moves).toHaveLength(0);
    await i18n.changeLanguage('en');
  });
});
