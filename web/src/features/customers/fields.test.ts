import { describe, expect, it } from 'vitest';
import {
  type FieldDef,
  MASK,
  OPS,
  conflictIds,
  customPayload,
  filterQuery,
  formatEta,
  opsFor,
  parseFilterQuery,
  rowComplete,
  showValue,
  splitList,
  valueKind,
} from './fields';

const def = (type: string, extra: Partial<FieldDef> = {}): FieldDef => ({ key: 'f', label_en: 'F', type, filterable: true, ...extra });

describe('filter builder', () => {
  it('writes field[op]=value, with eq bare and custom fields as custom.<key>', () => {
    const p = filterQuery(
      [
        { field: 'custom.tier', op: 'eq', value: 'gold' },
        { field: 'custom.score', op: 'between', value: '10, 20' },
        { field: 'source', op: 'empty', value: '' },
        { field: 'name', op: 'prefix', value: '  ' },
      ],
      { q: ' 张 ', tag: ['vip'], sort: '-custom.score' },
    );
    expect(p.toString()).toBe('q=%E5%BC%A0&tag=vip&sort=-custom.score&custom.tier=gold&custom.score%5Bbetween%5D=10%2C20&source%5Bempty%5D=true');
  });

  it('takes every operator the API knows', () => {
    for (const op of OPS) {
      const value = op === 'between' ? '1,2' : op === 'in' ? 'a,b' : op === 'empty' ? 'false' : 'x';
      const p = filterQuery([{ field: 'custom.k', op, value }]);
      const key = op === 'eq' ? 'custom.k' : `custom.k[${op}]`;
      expect(p.get(key)).toBe(value);
    }
  });

  it('leaves out rows the API would refuse: no field, no value, a half range', () => {
    expect(rowComplete({ field: '', op: 'eq', value: 'x' })).toBe(false);
    expect(rowComplete({ field: 'name', op: 'eq', value: ' ' })).toBe(false);
    expect(rowComplete({ field: 'created_at', op: 'between', value: '2026-01-01,' })).toBe(false);
    expect(rowComplete({ field: 'source', op: 'empty', value: '' })).toBe(true);
    expect(filterQuery([{ field: 'custom.n', op: 'between', value: '5' }]).toString()).toBe('');
  });

  it('adds owner, stages and several tags', () => {
    const p = filterQuery([], { owner: 'u1', lifecycle: ['lead', 'customer'], tag: ['vip', 'north'] });
    expect(p.getAll('lifecycle')).toEqual(['lead', 'customer']);
    expect(p.getAll('tag')).toEqual(['vip', 'north']);
    expect(p.get('owner')).toBe('u1');
  });

  it('reads a saved query back into rows and round-trips', () => {
    const r = parseFilterQuery('custom.tier=gold&custom.score[gte]=5&tag=vip&q=li&owner=u1&sort=-name&cursor=abc');
    expect(r.rows).toEqual([
      { field: 'custom.tier', op: 'eq', value: 'gold' },
      { field: 'custom.score', op: 'gte', value: '5' },
    ]);
    expect(r.tag).toEqual(['vip']);
    expect(r.q).toBe('li');
    expect(r.owner).toBe('u1');
    expect(r.sort).toBe('-name');
    const again = filterQuery(r.rows, r).toString();
    expect(parseFilterQuery(again)).toEqual(r);
  });

  it('reads a drill-down by team back into a team row, with the operators the API takes for it', () => {
    expect(parseFilterQuery('owner_team=t1').rows).toEqual([{ field: 'owner_team', op: 'eq', value: 't1' }]);
    expect(parseFilterQuery('owner_team%5Bempty%5D=true').rows).toEqual([{ field: 'owner_team', op: 'empty', value: 'true' }]);
    expect(opsFor('owner_team')).toEqual(['eq', 'empty']);
    expect(filterQuery([{ field: 'owner_team', op: 'eq', value: 't1' }]).toString()).toBe('owner_team=t1');
  });

  it('reads a saved view or segment id as a list parameter, not a filter row', () => {
    const r = parseFilterQuery('view_id=v1&segment_id=s1&custom.tier=gold');
    expect(r.rows).toEqual([{ field: 'custom.tier', op: 'eq', value: 'gold' }]);
  });

  it('offers only the operators the API accepts for each field', () => {
    expect(opsFor('email')).toEqual(['eq', 'prefix']);
    expect(opsFor('tags')).toEqual(['contains', 'in', 'empty']);
    expect(opsFor('created_at')).toContain('between');
    expect(opsFor('custom.tier', def('select'))).toEqual(['eq', 'ne', 'in', 'empty']);
    expect(opsFor('custom.n', def('currency'))).toContain('between');
    expect(opsFor('custom.n', def('currency'))).not.toContain('prefix');
    expect(opsFor('custom.t', def('text'))).toContain('contains');
    expect(opsFor('custom.b', def('boolean'))).toEqual(['eq', 'ne', 'empty']);
    // The moments and scores a drill-down opens (modules/profiles fieldOps).
    expect(opsFor('purchased_at')).toEqual(['gte', 'lt']);
    expect(opsFor('churned_at')).toEqual(['gte', 'lt']);
    expect(opsFor('purchase_currency')).toEqual(['eq']);
    expect(opsFor('purchase_channel')).toEqual(['eq', 'empty']);
    expect([...opsFor('churn_risk')].sort()).toEqual(['eq', 'gt', 'gte', 'lt', 'lte']);
    expect(opsFor('rfm.segment')).toEqual(['eq', 'ne', 'in', 'empty']);
    expect(opsFor('province')).toEqual(['eq', 'in', 'empty']);
    expect(opsFor('city')).toEqual(['eq', 'in', 'empty']);
  });

  it('writes one value as given, commas and all; only lists are split', () => {
    expect(filterQuery([{ field: 'purchase_channel', op: 'eq', value: ' web, app ' }]).get('purchase_channel')).toBe('web, app');
    expect(filterQuery([{ field: 'name', op: 'in', value: 'a, b,,c' }]).get('name[in]')).toBe('a,b,c');
  });

  it('asks for values with the input that fits the type', () => {
    expect(valueKind('custom.d', def('date'))).toBe('date');
    expect(valueKind('custom.r', def('rating'))).toBe('number');
    expect(valueKind('custom.s', def('multi_select'))).toBe('choice');
    expect(valueKind('custom.u', def('user'))).toBe('member');
    expect(valueKind('owner_id')).toBe('member');
    expect(valueKind('owner_team')).toBe('team');
    expect(valueKind('lifecycle')).toBe('lifecycle');
    expect(valueKind('purchased_at')).toBe('instant');
    expect(valueKind('churned_at')).toBe('instant');
    expect(valueKind('purchase_currency')).toBe('currency');
    expect(valueKind('churn_risk')).toBe('number');
    expect(valueKind('rfm.segment')).toBe('segment');
  });
});

describe('values by type', () => {
  const f = {
    number: (n: number | string) => `#${n}`,
    money: (a: string, c?: string) => `${c}:${a}`,
    day: (d: string) => `day(${d})`,
    dateTime: (d: string) => `dt(${d})`,
  };
  it('shows options by label in the UI language', () => {
    const d = def('multi_select', { options: [{ value: 'tea', label_en: 'Tea', label_zh: '茶叶' }, { value: 'silk' }] });
    expect(showValue(d, ['tea', 'silk'], 'zh')).toBe('茶叶, silk');
    expect(showValue(d, ['tea'], 'en')).toBe('Tea');
  });
  it('formats money, dates, numbers, ratings, booleans and members', () => {
    expect(showValue(def('currency'), { amount: '12.50', currency: 'CNY' }, 'en', f)).toBe('CNY:12.50');
    expect(showValue(def('date'), '2026-11-22', 'en', f)).toBe('day(2026-11-22)');
    expect(showValue(def('datetime'), '2026-11-22T01:00:00Z', 'en', f)).toBe('dt(2026-11-22T01:00:00Z)');
    expect(showValue(def('number'), 42, 'en', f)).toBe('#42');
    expect(showValue(def('rating', { max: 5 }), 3, 'en')).toBe('★★★☆☆');
    expect(showValue(def('boolean'), false, 'zh')).toBe('否');
    expect(showValue(def('user'), 'u1', 'en', f, (id) => (id === 'u1' ? 'Li Lei' : undefined))).toBe('Li Lei');
    expect(showValue(def('text', { sensitive: true }), MASK, 'en')).toBe(MASK);
    expect(showValue(def('text'), null, 'en')).toBe('');
  });
});

describe('custom values sent by forms', () => {
  const defs = [def('text', { key: 'a' }), def('text', { key: 'secret', sensitive: true }), def('multi_select', { key: 'm' }), def('currency', { key: 'c' })];
  it('drops empty values on create', () => {
    expect(customPayload({ a: '', m: [], c: { currency: 'CNY' }, secret: 'x' }, defs, 'create')).toEqual({ secret: 'x' });
  });
  it('sends only changes on edit, null to clear, never the mask', () => {
    const before = { a: 'old', secret: MASK, m: ['x'] };
    expect(customPayload({ a: '', secret: MASK, m: ['x'] }, defs, 'edit', before)).toEqual({ a: null });
    expect(customPayload({ a: 'new', secret: 'typed', m: ['x', 'y'] }, defs, 'edit', before)).toEqual({ a: 'new', secret: 'typed', m: ['x', 'y'] });
  });
});

describe('small helpers', () => {
  it('splits lists of emails and phones', () => {
    expect(splitList('a@x.com, b@y.com;c@z.com')).toEqual(['a@x.com', 'b@y.com', 'c@z.com']);
    expect(splitList([' +86 139 ', ''])).toEqual(['+86 139']);
  });
  it('reads the customers a duplicate conflict names', () => {
    const id = '0dc8c715-2464-450a-b00e-1932117483a5';
    expect(conflictIds({ errors: [{ value: [id] }] })).toEqual([id]);
    expect(conflictIds({ detail: `exists already (${id}). Open it` })).toEqual([id]);
  });
  it('says how long is left', () => {
    expect(formatEta(45, 'en')).toBe('45 s');
    expect(formatEta(200, 'en')).toBe('3 min 20 s');
    expect(formatEta(3900, 'zh')).toBe('1 小时 5 分');
    expect(formatEta(undefined, 'en')).toBe('');
  });
});

import { ApiError } from '../../app/api';
import { placeErrors } from './form';

describe('server errors on the form', () => {
  it('puts each problem next to its field, list items on their list, the rest above', () => {
    const err = new ApiError(422, {
      title: 'Unprocessable Entity',
      detail: 'validation failed',
      errors: [
        { location: 'body.emails[1]', message: 'not a valid email address' },
        { location: 'body.custom.tier', message: '"x" is not one of the options' },
        { location: 'body.address.city', message: 'too long' },
        { location: 'body.company_id', message: 'no such company' },
      ],
    });
    const has = (k: string) => ['emails', 'custom', 'address', 'name'].includes(k);
    const r = placeErrors(err, has, { emails: ['a@x.com', 'bad'] });
    expect(r.fields).toEqual([
      { name: ['emails'], errors: ['bad: not a valid email address'] },
      { name: ['custom', 'tier'], errors: ['"x" is not one of the options'] },
      { name: ['address', 'city'], errors: ['too long'] },
    ]);
    expect(r.rest).toEqual(['no such company']);
  });
});
