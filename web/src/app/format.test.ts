import { describe, expect, it } from 'vitest';
import { formatDate, formatDateTime, formatDay, formatMoney, formatNumber, formatRelative, localeFor } from './format';

const sh = { locale: 'zh-CN', timeZone: 'Asia/Shanghai', currency: 'CNY' };
const ny = { locale: 'en', timeZone: 'America/New_York', currency: 'USD' };

describe('format', () => {
  it('shows instants in the company time zone', () => {
    // 23:30 UTC is already the next morning in Shanghai, still the afternoon in New York.
    const t = '2026-11-23T23:30:00Z';
    expect(formatDateTime(sh, t)).toContain('11月24日');
    expect(formatDateTime(sh, t)).toContain('07:30');
    expect(formatDateTime(ny, t)).toBe('Nov 23, 2026, 18:30');
    expect(formatDate(ny, t)).toBe('Nov 23, 2026');
  });

  it('keeps a date-only value on its calendar day whatever the zone', () => {
    expect(formatDay({ ...ny, timeZone: 'Pacific/Honolulu' }, '2026-11-16')).toBe('Nov 16, 2026');
    expect(formatDay(sh, '2026-11-16')).toBe('2026年11月16日');
  });

  it('formats money exactly in the company currency unless told another', () => {
    expect(formatMoney(sh, '1234567.5')).toBe('¥1,234,567.50');
    expect(formatMoney(ny, '1234567.5')).toBe('$1,234,567.50');
    expect(formatMoney(ny, 99, 'eur')).toBe('€99.00');
    expect(formatMoney(ny, '')).toBe('');
    expect(formatMoney(ny, 'abc')).toBe('abc');
  });

  it('groups numbers and tolerates nonsense', () => {
    expect(formatNumber(ny, 1234567.891)).toBe('1,234,567.89');
    expect(formatNumber(ny, null)).toBe('');
    expect(formatNumber(ny, 'x')).toBe('x');
  });

  it('falls back to UTC for an unknown zone instead of throwing', () => {
    expect(formatDate({ ...ny, timeZone: 'Mars/Olympus' }, '2026-01-02T12:00:00Z')).toBe('Jan 2, 2026');
  });

  it('says how long ago in the UI language', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    expect(formatRelative(ny, '2026-11-23T11:55:00Z', now)).toBe('5 minutes ago');
    expect(formatRelative(sh, '2026-11-23T11:55:00Z', now)).toBe('5分钟前');
  });

  it('picks zh-CN for a Chinese UI and the tenant locale otherwise', () => {
    expect(localeFor('zh', 'en')).toBe('zh-CN');
    expect(localeFor('en', 'zh-CN')).toBe('en');
    expect(localeFor('en', 'en-GB')).toBe('en-GB');
  });
});
