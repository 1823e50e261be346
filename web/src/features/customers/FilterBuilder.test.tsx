import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import dayjs from 'dayjs';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import { drillLink } from '../bi/dashboards';
import { type FilterRow, filterQuery, parseFilterQuery } from './fields';
import { FilterBuilder, pickedInstant, pickerValue } from './FilterBuilder';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

function renderRows(rows: FilterRow[], setRows: (r: FilterRow[]) => void = () => {}) {
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
        <FilterBuilder rows={rows} setRows={setRows} defs={[]} onApply={() => {}} />
      </TenantContext.Provider>
    </QueryClientProvider>,
  );
}

/** sorted lists a query string's parameters in one order, to compare two. */
const sorted = (q: string) => [...new URLSearchParams(q)].map(([k, v]) => `${k}=${v}`).sort();

function renderTeamRow() {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    const url = String(u);
    if (url.endsWith('/teams')) return new Response(JSON.stringify({ items: [{ id: 't1', name: 'North desk' }, { id: 't2', name: 'South desk' }] }), { status: 200 });
    if (url.endsWith('/members')) return new Response(JSON.stringify({ items: [] }), { status: 200 });
    return new Response(JSON.stringify({ title: 'Not Found' }), { status: 404 });
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
        <FilterBuilder rows={[{ field: 'owner_team', op: 'eq', value: 't1' }]} setRows={() => {}} defs={[]} onApply={() => {}} />
      </TenantContext.Provider>
    </QueryClientProvider>,
  );
}

/** mockSettings answers the company's settings with its time zone. */
function mockSettings(timeZone: string) {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    if (String(u).endsWith('/settings')) return new Response(JSON.stringify({ name: 'Acme', slug: 'acme', time_zone: timeZone, locale: 'en', currency: 'CNY', modules: {} }), { status: 200 });
    return new Response(JSON.stringify({ items: [] }), { status: 200 });
  });
}

describe('moments on the company\'s clocks', () => {
  // The picker shows, and sends, what the company's clocks read, whatever
  // the browser's zone: dayjs values here are the browser's wall clock.
  it('reads an instant as the company reads it, and sends the instant the company means', () => {
    expect(pickerValue('2026-01-31T16:00:00Z', 'Asia/Shanghai')!.format('YYYY-MM-DD HH:mm')).toBe('2026-02-01 00:00');
    expect(pickedInstant(dayjs('2026-02-01T00:00'), 'Asia/Shanghai')).toBe('2026-01-31T16:00:00Z');
    expect(pickedInstant(dayjs('2026-02-01T00:00'), 'UTC')).toBe('2026-02-01T00:00:00Z');
    // Across a change of daylight saving: New York is UTC-5 before 8 March 2026, UTC-4 after.
    expect(pickedInstant(dayjs('2026-03-07T12:00'), 'America/New_York')).toBe('2026-03-07T17:00:00Z');
    expect(pickedInstant(dayjs('2026-03-09T12:00'), 'America/New_York')).toBe('2026-03-09T16:00:00Z');
    expect(pickerValue('2026-03-09T16:00:00Z', 'America/New_York')!.format('YYYY-MM-DD HH:mm')).toBe('2026-03-09 12:00');
    // The end of a day is its last millisecond there.
    expect(pickedInstant(dayjs('2026-02-01').endOf('day'), 'Asia/Shanghai')).toBe('2026-02-01T15:59:59.999Z');
    // A day stays a day; nothing or nonsense shows nothing.
    expect(pickerValue('2026-02-01', 'Asia/Shanghai')!.format('YYYY-MM-DD')).toBe('2026-02-01');
    expect(pickerValue('', 'Asia/Shanghai')).toBeNull();
    expect(pickerValue('soon', 'Asia/Shanghai')).toBeNull();
  });
});

describe('<FilterBuilder>', () => {
  // A drill-down by team (owner_team=<id>) reads as the owner's team, by the
  // team's name, in both languages: not as a raw field and an id.
  it('shows a drill-down by team as the team, by name', async () => {
    renderTeamRow();
    expect(await screen.findByText('North desk')).toBeTruthy();
    expect(screen.getByText("Owner's team")).toBeTruthy();
    expect(screen.queryByText('owner_team')).toBeNull();
    await i18n.changeLanguage('zh');
    expect(await screen.findByText('负责人所在团队')).toBeTruthy();
  });

  // A drilled list (a purchase point by channel in its currency, churned
  // customers of a risk band and segment) reads as named fields with the
  // operators the API takes, in both languages, and writes back the very
  // query it came from.
  it('shows a drilled list by purchase, churn, risk and segment as named fields, and writes back its query unchanged', async () => {
    const r = { bucket: 'month', from: '2026-01-01', to: '2026-03-31', time_zone: 'Asia/Shanghai', currency: 'CNY' };
    const urls = [
      drillLink('/t/acme', 'purchases.revenue', { time: '2026-02-01', channel: 'web, app' }, r)!,
      drillLink('/t/acme', 'purchases.orders', { time: '2026-02-01', channel: '' }, r)!,
      drillLink('/t/acme', 'profiles.churned_customers', { time: '2026-02-01', churn_risk_band: 'medium', rfm_segment: 'champions' }, r)!,
    ];
    const queries = urls.map((u) => u.split('?')[1]);
    expect(queries[0]).toContain('purchase_channel=web%2C+app');
    expect(queries[1]).toContain('purchase_channel%5Bempty%5D=true');
    for (const q of queries) {
      const parsed = parseFilterQuery(q);
      expect(sorted(filterQuery(parsed.rows, parsed).toString())).toEqual(sorted(q));
    }
    const rows = [...parseFilterQuery(queries[0]).rows, ...parseFilterQuery(queries[2]).rows];
    const setRows = vi.fn();
    mockSettings('Asia/Shanghai');
    renderRows(rows, setRows);
    // Each range reads at or after its start and before its end, to the
    // minute, on the company's clocks (Shanghai), whatever the browser's zone.
    expect((await screen.findAllByDisplayValue('2026-02-01 00:00')).length).toBe(2);
    expect(screen.getAllByDisplayValue('2026-03-01 00:00').length).toBe(2);
    for (const label of ['Purchase time', 'Purchase currency', 'Purchase channel', 'Moved to churned', 'Churn risk (0–100)', 'RFM segment', 'Champions']) {
      expect(screen.getAllByText(label).length).toBeGreaterThan(0);
    }
    for (const raw of ['purchased_at', 'purchase_currency', 'purchase_channel', 'churned_at', 'churn_risk', 'rfm.segment', 'champions', 'gte', 'lt']) {
      expect(screen.queryByText(raw)).toBeNull();
    }
    expect(screen.getAllByText('≥').length).toBe(3);
    expect(screen.getAllByText('<').length).toBe(3);
    expect(screen.getByDisplayValue('CNY')).toBeTruthy();
    expect(screen.getByDisplayValue('web, app')).toBeTruthy();
    expect(setRows).not.toHaveBeenCalled();
    await i18n.changeLanguage('zh');
    for (const label of ['购买时间', '购买币种', '购买渠道', '转入已流失的时间', '流失风险（0–100）', 'RFM 客户分群', '重要价值客户']) {
      expect((await screen.findAllByText(label)).length).toBeGreaterThan(0);
    }
  });

  // A point by province or city (none: [empty]=true) reads as the address's
  // province or city, and writes back its query.
  // Active customers at a bucket's end: the instant on the company's clocks, named in both languages.
  it('shows a drilled list of active customers as the moment they were active', async () => {
    mockSettings('Asia/Shanghai');
    renderRows(parseFilterQuery('active_at=2026-02-28T16%3A00%3A00Z').rows);
    expect(await screen.findByDisplayValue('2026-03-01 00:00')).toBeTruthy();
    expect(screen.getAllByText('Active customer at').length).toBeGreaterThan(0);
    expect(screen.queryByText('active_at')).toBeNull();
    await i18n.changeLanguage('zh');
    expect((await screen.findAllByText('在此时为活跃客户')).length).toBeGreaterThan(0);
  });

  it('shows a drilled list by province and city as the address, and writes back its query unchanged', async () => {
    const r = { bucket: 'month', from: '2026-01-01', to: '2026-03-31', time_zone: 'Asia/Shanghai', currency: 'CNY' };
    const q = drillLink('/t/acme', 'purchases.revenue', { province: '广东', city: '' }, r)!.split('?')[1];
    const parsed = parseFilterQuery(q);
    expect(parsed.rows).toContainEqual({ field: 'province', op: 'eq', value: '广东' });
    expect(parsed.rows).toContainEqual({ field: 'city', op: 'empty', value: 'true' });
    expect(sorted(filterQuery(parsed.rows, parsed).toString())).toEqual(sorted(q));
    renderRows(parsed.rows);
    expect(screen.getByText('Province / state')).toBeTruthy();
    expect(screen.getByText('City')).toBeTruthy();
    expect(screen.getByText('is empty')).toBeTruthy();
    expect(screen.getByDisplayValue('广东')).toBeTruthy();
    for (const raw of ['province', 'city', 'empty']) expect(screen.queryByText(raw)).toBeNull();
    await i18n.changeLanguage('zh');
    expect(await screen.findByText('省份')).toBeTruthy();
    expect(screen.getByText('城市')).toBeTruthy();
  });
});
