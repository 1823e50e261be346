import { describe, expect, it } from 'vitest';
import { filterQuery, parseFilterQuery } from './fields';

describe('filter builder', () => {
  it('writes field[op]=value, with eq bare and custom fields as custom.<key>', () => {
    const p = filterQuery(
      [
        { field: 'custom.tier', op: 'eq', value: 'gold' },
        { field: 'custom.score', op: 'between', value: '10,20' },
        { field: 'source', op: 'empty', value: '' },
        { field: 'name', op: 'prefix', value: '  ' },
      ],
      { q: ' 张 ', tag: ['vip'], sort: '-custom.score' },
    );
    expect(p.toString()).toBe('q=%E5%BC%A0&tag=vip&sort=-custom.score&custom.tier=gold&custom.score%5Bbetween%5D=10%2C20&source%5Bempty%5D=true');
  });
  it('reads a saved query back into rows', () => {
    const r = parseFilterQuery('custom.tier=gold&custom.score[gte]=5&tag=vip&q=li');
    expect(r.rows).toEqual([
      { field: 'custom.tier', op: 'eq', value: 'gold' },
      { field: 'custom.score', op: 'gte', value: '5' },
    ]);
    expect(r.tag).toEqual(['vip']);
    expect(r.q).toBe('li');
  });
});
