import { describe, expect, it } from 'vitest';
import { definitionBody, entityLabel, flagsAllowed, slugKey } from './definition';

describe('field editor', () => {
  it('derives a key from the English label', () => {
    expect(slugKey('Annual revenue (CNY)')).toBe('annual_revenue_cny');
    expect(slugKey('2nd phone')).toBe('f_2nd_phone');
    expect(slugKey('等级')).toBe('');
  });

  it('allows only the flags the API accepts for the type', () => {
    expect(flagsAllowed('long_text', false)).toEqual({ filterable: false, sortable: false, unique: false, sensitive: true });
    expect(flagsAllowed('multi_select', false)).toMatchObject({ filterable: true, sortable: false, unique: false, sensitive: false });
    expect(flagsAllowed('text', true)).toMatchObject({ filterable: false, sortable: false, unique: false });
    expect(flagsAllowed('rating', false).unique).toBe(false);
  });

  it('sends options with labels for choice fields, and drops blank rows', () => {
    const b = definitionBody(
      { key: 'tier', label_en: ' Tier ', label_zh: '等级', type: 'select', filterable: true, sortable: true, unique: true, options: [{ value: 'gold', label_en: 'Gold', label_zh: '金牌' }, { value: ' ' }, undefined] },
      'create',
    );
    expect(b).toMatchObject({ key: 'tier', label_en: 'Tier', type: 'select', filterable: true, sortable: true, unique: true });
    expect(b.options).toEqual([{ value: 'gold', label_en: 'Gold', label_zh: '金牌' }]);
    expect(b).not.toHaveProperty('default');
  });

  it('turns off what a sensitive field cannot be, and clears what a type change leaves behind', () => {
    const b = definitionBody({ label_en: 'ID', type: 'text', sensitive: true, filterable: true, unique: true, default: '' }, 'edit', {
      key: 'id', label_en: 'ID', type: 'select', options: [{ value: 'a' }], default: 'a',
    });
    expect(b).toMatchObject({ sensitive: true, filterable: false, unique: false, options: [], default: null });
    expect(b).not.toHaveProperty('key');
  });

  it('keeps a money default and a rating maximum', () => {
    expect(definitionBody({ label_en: 'Budget', type: 'currency', default: { amount: '100', currency: 'CNY' } }, 'create').default).toEqual({ amount: '100', currency: 'CNY' });
    expect(definitionBody({ label_en: 'Budget', type: 'currency', default: { currency: 'CNY' } }, 'create')).not.toHaveProperty('default');
    expect(definitionBody({ label_en: 'Stars', type: 'rating', max: 10 }, 'create').max).toBe(10);
  });

  it('names an entity in the interface language, falling back to English and then its key', () => {
    const deals = { name: 'deals', label_en: 'Deals', label_zh: '商机' };
    expect(entityLabel(deals, 'zh-CN')).toBe('商机');
    expect(entityLabel(deals, 'en')).toBe('Deals');
    expect(entityLabel({ name: 'tickets', label_en: 'Tickets', label_zh: '' }, 'zh')).toBe('Tickets');
    expect(entityLabel({ name: 'tickets', label_en: '', label_zh: '' }, 'en')).toBe('tickets');
  });
});
