import { describe, expect, it } from 'vitest';
import { campaign, pick, preview, submissionValues, type AvailableField } from './api';

const available: AvailableField[] = [
  { key: 'name', type: 'text', label_en: 'Name', label_zh: '姓名', custom: false },
  { key: 'email', type: 'email', label_en: 'Email', label_zh: '电子邮箱', custom: false },
  { key: 'custom.budget', type: 'number', label_en: 'Budget', label_zh: '预算', custom: true },
];

describe('lead forms', () => {
  it('picks a language with a fallback', () => {
    expect(pick('zh-CN', 'Hi', '你好')).toBe('你好');
    expect(pick('zh-CN', 'Hi', '')).toBe('Hi');
    expect(pick('en', '', '你好')).toBe('你好');
  });
  it('previews the form as the server will show it', () => {
    const p = preview(
      { fields: [{ key: 'email', label_zh: '工作邮箱', required: true }, { key: 'custom.budget' }, { key: 'custom.gone' }], title_en: 'Trial', consent: true, consent_en: 'I agree' },
      available,
      'zh-CN',
      'Acme',
      { title: '联系我们', submit: '提交' },
    );
    expect(p.title).toBe('Trial');
    expect(p.fields.map((f) => f.label)).toEqual(['工作邮箱', '预算']);
    expect(p.fields[0].required).toBe(true);
    expect(p.consent).toBe('I agree');
  });
  it('reads UTM parameters and the embedding page from the query', () => {
    const c = campaign('?utm_source=news&utm_campaign=spring&source=https%3A%2F%2Fexample.com%2Fp&other=1');
    expect(c.utm).toEqual({ utm_source: 'news', utm_campaign: 'spring' });
    expect(c.source).toBe('https://example.com/p');
    expect(c.referrer).toBeUndefined();
  });
  it('drops empty answers', () => {
    expect(submissionValues({ name: 'A', email: '', phone: undefined, tags: [], n: 0 })).toEqual({ name: 'A', n: 0 });
  });
});
