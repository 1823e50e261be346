import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import i18n from '../../app/i18n';
import type { Result } from './api';
import { bucketEnd, drillLink, timeFilter, timeSpan, zoneMidnight } from './dashboards';
import { renderPage } from './dashboardHarness';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

describe('drill-down from a time bucket', () => {
  it('knows where each bucket ends', () => {
    expect(bucketEnd('2026-01-31', 'day')).toBe('2026-02-01');
    expect(bucketEnd('2025-12-29', 'week')).toBe('2026-01-05');
    expect(bucketEnd('2026-01-01', 'month')).toBe('2026-02-01');
    expect(bucketEnd('2026-10-01', 'quarter')).toBe('2027-01-01');
    expect(bucketEnd('2026-01-01', 'year')).toBe('2027-01-01');
    expect(bucketEnd('2026-02-01')).toBe('2026-03-01');
  });
  it('clips a bucket to the answer\'s range', () => {
    const r = { bucket: 'week', from: '2026-01-01', to: '2026-01-31' };
    expect(timeSpan(r, '2025-12-29')).toEqual({ from: '2026-01-01', until: '2026-01-05' });
    expect(timeSpan(r, '2026-01-12')).toEqual({ from: '2026-01-12', until: '2026-01-19' });
    expect(timeSpan(r, '2026-01-26')).toEqual({ from: '2026-01-26', until: '2026-02-01' });
  });
  it('finds midnight in the company\'s time zone, across daylight saving too', () => {
    expect(zoneMidnight('2026-01-01', 'Asia/Shanghai')).toBe('2025-12-31T16:00:00Z');
    expect(zoneMidnight('2026-03-01', 'America/New_York')).toBe('2026-03-01T05:00:00Z');
    expect(zoneMidnight('2026-03-09', 'America/New_York')).toBe('2026-03-09T04:00:00Z'); // after the change on the 8th
    expect(zoneMidnight('2026-06-01', 'UTC')).toBe('2026-06-01T00:00:00Z');
  });
  it('opens the records created in the bucket\'s days', () => {
    const r: Pick<Result, 'bucket' | 'from' | 'to' | 'time_zone'> = { bucket: 'month', from: '2026-01-01', to: '2026-03-31', time_zone: 'Asia/Shanghai' };
    expect(timeFilter('profiles.new_customers', r, '2026-02-01')).toEqual([['created_at[gte]', '2026-01-31T16:00:00Z'], ['created_at[lt]', '2026-02-28T16:00:00Z']]);
    expect(drillLink('/t/acme', 'profiles.new_customers', { time: '2026-02-01', source: 'web' }, r))
      .toBe('/t/acme/customers?source=web&created_at%5Bgte%5D=2026-01-31T16%3A00%3A00Z&created_at%5Blt%5D=2026-02-28T16%3A00%3A00Z');
    expect(drillLink('/t/acme', 'tickets.complaints', { time: '2026-03-01' }, { ...r, bucket: 'day' }))
      .toBe('/t/acme/tickets?type=complaint&merged=false&created_at%5Bgte%5D=2026-02-28T16%3A00%3A00Z&created_at%5Blt%5D=2026-03-01T16%3A00%3A00Z');
    // A purchase metric by the purchase's time (and, given the answer's currency, in it: dashboards.test.ts).
    expect(drillLink('/t/acme', 'purchases.revenue', { time: '2026-02-01' }, r))
      .toBe('/t/acme/customers?purchased_at%5Bgte%5D=2026-01-31T16%3A00%3A00Z&purchased_at%5Blt%5D=2026-02-28T16%3A00%3A00Z');
    // The customers active when the bucket ends: their stage then, by their history.
    expect(drillLink('/t/acme', 'profiles.active_customers', { time: '2026-02-01' }, r)).toBe('/t/acme/customers?active_at=2026-02-28T16%3A00%3A00Z');
    // A metric counted by a time its list cannot filter on (a stay in a stage) opens the list without a date rather than a wrong one.
    expect(drillLink('/t/acme', 'funnel.stage_conversion', { time: '2026-02-01' }, r)).toBe('/t/acme/deals');
    // Without the answer there is no bucket to read: no date either.
    expect(drillLink('/t/acme', 'profiles.new_customers', { time: '2026-02-01' })).toBe('/t/acme/customers');
  });
});

describe('<DashboardView> drill-down by time', () => {
  it('drills down from a time bucket to the records of its days', async () => {
    renderPage();
    const row = (await screen.findAllByRole('row', { name: /Open the records behind .*2026/ }))[0];
    fireEvent.click(row);
    await waitFor(() => expect(screen.getByTestId('where').textContent)
      .toBe('/t/acme/tickets?merged=false&created_at%5Bgte%5D=2025-12-31T16%3A00%3A00Z&created_at%5Blt%5D=2026-01-31T16%3A00%3A00Z'));
  });
});
