import { describe, expect, it } from 'vitest';
import { ApiError } from '../../app/api';
import { cleanMapping, mappingIssues, sampleValues, startProblems } from './mapping';

describe('import mapping', () => {
  it('needs a name for new customers, not for updates', () => {
    expect(mappingIssues({ 邮箱: 'emails' }, 'create')).toEqual([{ kind: 'needName' }]);
    expect(mappingIssues({ 邮箱: 'emails' }, 'upsert')).toEqual([{ kind: 'needName' }]);
    expect(mappingIssues({ 邮箱: 'emails' }, 'update')).toEqual([]);
  });
  it('asks no name of purchases, which find their customer', () => {
    expect(mappingIssues({ 订单号: 'order_no', 邮箱: 'email' }, 'create', 'purchases')).toEqual([]);
    expect(mappingIssues({ 订单号: 'order_no', 单号: 'order_no' }, 'create', 'purchases')).toEqual([{ kind: 'twice', target: 'order_no', columns: ['订单号', '单号'] }]);
  });
  it('refuses a field fed by two columns', () => {
    expect(mappingIssues({ 姓名: 'name', Name: 'name', 电话: '' }, 'create')).toEqual([{ kind: 'twice', target: 'name', columns: ['姓名', 'Name'] }]);
  });
  it('drops unmapped columns', () => {
    expect(cleanMapping({ a: 'name', b: '' })).toEqual({ a: 'name' });
  });
  it('places a refused start on the columns it names, dots in names included', () => {
    const err = new ApiError(422, {
      detail: 'invalid',
      errors: [
        { location: 'body.mapping.e.mail', message: 'no custom field x' },
        { location: 'body.match_on', message: 'use email' },
        { location: 'body', message: 'other' },
      ],
    });
    expect(startProblems(err)).toEqual({ columns: { 'e.mail': 'no custom field x' }, matchOn: 'use email', rest: ['other'] });
  });
  it('shows a few distinct sample values per column', () => {
    expect(sampleValues([['a', ''], ['a', 'x'], ['b', 'y'], ['c', 'z'], ['d', 'w']], 0)).toEqual(['a', 'b', 'c']);
    expect(sampleValues([['a', ''], ['a', 'x']], 1)).toEqual(['x']);
  });
});
