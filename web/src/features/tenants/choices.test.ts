import { describe, expect, it } from 'vitest';
import { SLUG_RE, currencyLabel, slugify, timeZones } from './choices';

describe('company choices', () => {
  it('proposes a web address from a name', () => {
    expect(slugify('Acme Trading 顶点贸易')).toBe('acme-trading');
    expect(slugify('  Café Müller & Söhne ')).toBe('cafe-muller-sohne');
    expect(slugify('顶点贸易')).toBe('');
    expect(slugify('x'.repeat(60))).toHaveLength(40);
    expect(SLUG_RE.test('acme-trading')).toBe(true);
    expect(SLUG_RE.test('-acme')).toBe(false);
    expect(SLUG_RE.test('Acme')).toBe(false);
  });
  it('lists zones with UTC and names currencies in the UI language', () => {
    expect(timeZones()).toContain('Asia/Shanghai');
    expect(timeZones()).toContain('UTC');
    expect(currencyLabel('CNY', 'zh-CN')).toBe('CNY · 人民币');
    expect(currencyLabel('USD', 'en')).toBe('USD · US Dollar');
  });
});

import { changedModules } from './TenantSettingsPage';
describe('settings', () => {
  it('sends only the module switches that changed', () => {
    expect(changedModules({ profiles: true, fields: true }, { profiles: true, fields: true })).toBeUndefined();
    expect(changedModules({ profiles: true, fields: true }, { profiles: false, fields: true })).toEqual({ profiles: false });
  });
});
