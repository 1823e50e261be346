import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, screen } from '@testing-library/react';
import i18n from '../../app/i18n';
import { freshness, hhmm } from './api';
import { renderPage } from './dashboardHarness';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

describe('freshness', () => {
  it('says rollups with their time in the company\'s zone, and records otherwise', () => {
    expect(freshness({ source: 'rollup', as_of: '2026-03-01T01:05:00Z', time_zone: 'Asia/Shanghai' })).toEqual({ kind: 'rollup', time: '09:05' });
    expect(freshness({ source: 'rollup', as_of: '2026-03-01T23:30:00Z', time_zone: 'America/New_York' })).toEqual({ kind: 'rollup', time: '18:30' });
    expect(freshness({ source: 'records', as_of: '2026-03-01T01:05:00Z', time_zone: 'UTC' })).toEqual({ kind: 'records' });
    expect(freshness({ time_zone: 'UTC' })).toEqual({ kind: 'records' });
    expect(freshness({ source: 'rollup', time_zone: 'UTC' })).toEqual({ kind: 'records' });
    expect(freshness({ source: 'rollup', as_of: 'soon', time_zone: 'UTC' })).toEqual({ kind: 'records' });
    expect(hhmm('2026-03-01T00:00:00Z', 'UTC')).toBe('00:00');
  });
});

describe('<DashboardView> freshness', () => {
  it('says how fresh each widget is, in both languages', async () => {
    renderPage();
    await screen.findByText('12');
    expect(screen.getAllByTestId('bi-fresh').map((x) => x.textContent)).toEqual(['Updated 09:05 · daily rollups', 'Live from records']);
    cleanup();
    await i18n.changeLanguage('zh');
    renderPage();
    await screen.findByText('12');
    expect(screen.getAllByTestId('bi-fresh').map((x) => x.textContent)).toEqual(['更新于 09:05 · 日汇总', '实时（来自记录）']);
  });
});
