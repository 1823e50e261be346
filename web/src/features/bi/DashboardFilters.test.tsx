import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import i18n from '../../app/i18n';
import type { Metric } from './api';
import { draftOf, filterDimensions, filterReach, filtersOf } from './dashboards';
import { renderPage } from './dashboardHarness';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const dim = (key: string) => ({ key, label_en: key, label_zh: key });
const metric = (key: string, dims: string[]): Metric => ({ key, module: key.split('.')[0], label_en: key, label_zh: key, description_en: '', description_zh: '',
  unit: 'count', aggregation: 'count', stock: false, dimensions: dims.map(dim) });
const metrics = [
  metric('profiles.customers', ['time', 'owner', 'lifecycle', 'source']),
  metric('tickets.tickets', ['time', 'owner', 'team', 'channel']),
  metric('funnel.deals', ['time', 'owner', 'pipeline', 'stage', 'source']),
];

describe('the dashboard filter editor', () => {
  it('offers the dimensions the widgets\' metrics allow, time aside, each once', () => {
    expect(filterDimensions(metrics, ['profiles.customers', 'tickets.tickets', 'profiles.customers']).map((d) => d.key))
      .toEqual(['owner', 'lifecycle', 'source', 'team', 'channel']);
    expect(filterDimensions(metrics, ['nope.metric'])).toEqual([]);
  });
  it('counts the widgets a filter applies to', () => {
    const used = ['profiles.customers', 'tickets.tickets', 'funnel.deals', 'gone.metric'];
    expect(filterReach('owner', metrics, used)).toBe(3);
    expect(filterReach('source', metrics, used)).toBe(2);
    expect(filterReach('channel', metrics, used)).toBe(1);
    expect(filterReach('priority', metrics, used)).toBe(0);
  });
  it('writes rows as eq, in or ne, and leaves out rows not filled in', () => {
    expect(filtersOf([
      { dimension: 'source', negate: false, values: ['web'] },
      { dimension: 'channel', negate: false, values: ['email', 'phone', 'email', ' '] },
      { dimension: 'owner', negate: true, values: ['u1', 'u2'] },
      { dimension: '', negate: false, values: ['x'] },
      { dimension: 'team', negate: false, values: [] },
    ])).toEqual([
      { dimension: 'source', op: 'eq', values: ['web'] },
      { dimension: 'channel', op: 'in', values: ['email', 'phone'] },
      { dimension: 'owner', op: 'ne', values: ['u1', 'u2'] },
    ]);
    expect(draftOf({ dimension: 'owner', op: 'ne', values: ['u1'] })).toEqual({ dimension: 'owner', negate: true, values: ['u1'] });
    expect(filtersOf([draftOf({ dimension: 'source', op: 'in', values: ['a', 'b'] })])).toEqual([{ dimension: 'source', op: 'in', values: ['a', 'b'] }]);
  });
});

describe('<DashboardView> global filters', () => {
  it('shows the filters to every member, and their editor only to who may change the dashboard', async () => {
    renderPage({ canEdit: false });
    expect(await screen.findByText('12')).toBeTruthy();
    expect(screen.getByTestId('bi-filter-tag').textContent).toBe('Channel is email');
    expect(screen.queryByTestId('bi-edit-filters')).toBeNull();
    cleanup();
    renderPage({ canEdit: true });
    expect(await screen.findByTestId('bi-edit-filters')).toBeTruthy();
  });

  it('edits the global filters and saves them with the dashboard', async () => {
    const calls = renderPage();
    await screen.findByText('12');
    fireEvent.click(screen.getByTestId('bi-edit-filters'));
    const rows = await screen.findAllByTestId('bi-filter-row');
    expect(rows).toHaveLength(1);
    expect(within(rows[0]).getByText('applies to 2 of 2 widgets')).toBeTruthy();
    // "is" becomes "is not", and a second filter is added then removed.
    fireEvent.mouseDown(within(rows[0]).getAllByRole('combobox')[1]);
    fireEvent.click(await screen.findByTitle('is not'));
    fireEvent.click(screen.getByTestId('bi-add-filter'));
    expect(screen.getAllByTestId('bi-filter-row')).toHaveLength(2);
    fireEvent.click(within(screen.getAllByTestId('bi-filter-row')[1]).getByLabelText('Remove this filter'));
    fireEvent.click(screen.getByTestId('bi-save-filters'));
    await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    const put = calls.find((c) => c.method === 'PUT')!.body as { filters: unknown; widgets: unknown[] };
    expect(put.filters).toEqual([{ dimension: 'channel', op: 'ne', values: ['email'] }]);
    expect(put.widgets).toHaveLength(2);
    expect(await screen.findByText('Filters saved.')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('bi-filter-tag').textContent).toBe('Channel is not email'));
  });
});
