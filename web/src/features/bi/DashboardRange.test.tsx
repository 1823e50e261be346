import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import i18n from '../../app/i18n';
import { runParams } from './dashboards';
import { renderPage, runs } from './dashboardHarness';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

describe('the range picked for the view', () => {
  it('keeps the dashboard\'s own, asks a preset, and a custom range only when whole', () => {
    expect(runParams('')).toBeUndefined();
    expect(runParams('last_month')).toEqual({ range: 'last_month' });
    expect(runParams('custom', '2026-01-05', '2026-02-10')).toEqual({ range: 'custom', from: '2026-01-05', to: '2026-02-10' });
    expect(runParams('custom', '2026-01-05', '2026-01-05')).toEqual({ range: 'custom', from: '2026-01-05', to: '2026-01-05' });
    expect(runParams('custom', '2026-01-05', '')).toBeNull();
    expect(runParams('custom', '2026-02-10', '2026-01-05')).toBeNull();
    expect(runParams('custom', '5/1/2026', '2026-01-05')).toBeNull();
  });
});

describe('<DashboardView> custom range', () => {
  it('runs a custom range once both days are picked', async () => {
    const calls = renderPage();
    await screen.findByText('12');
    fireEvent.mouseDown(within(screen.getByTestId('bi-range')).getByRole('combobox'));
    fireEvent.click(await screen.findByTitle('Custom'));
    const before = runs(calls).length;
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-02-01' } });
    expect(screen.getByText('Pick both days, the second not before the first.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-02-15' } });
    await waitFor(() => expect(runs(calls).some((u) => u.includes('range=custom') && u.includes('from=2026-02-01') && u.includes('to=2026-02-15'))).toBe(true));
    expect(runs(calls).slice(before).every((u) => u.includes('from=2026-02-01'))).toBe(true);
  });
});
