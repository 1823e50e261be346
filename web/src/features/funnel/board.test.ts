import { describe, expect, it } from 'vitest';
import { applyMove, closingStage, columnId, moveTarget, stageName, type Column, type Deal, type Pipeline } from './board';

const deal = (id: string, stage: string): Deal => ({
  id, title: id, customer_id: 'c', amount: '1', currency: 'USD', pipeline_id: 'p', stage_id: stage, position: '1', tags: [], version: 1, updated_at: '',
});
const cols = (): Column[] => [
  { stage_id: 'a', count: 3, rotting: 0, totals: [], deals: [deal('a1', 'a'), deal('a2', 'a'), deal('a3', 'a')] },
  { stage_id: 'b', count: 1, rotting: 0, totals: [], deals: [deal('b1', 'b')] },
  { stage_id: 'c', count: 0, rotting: 0, totals: [], deals: [] },
];

describe('moveTarget', () => {
  it('puts a deal dropped on a column at its end', () => {
    expect(moveTarget(cols(), 'a1', columnId('c'))).toEqual({ stage_id: 'c' });
    expect(moveTarget(cols(), 'a1', columnId('b'))).toEqual({ stage_id: 'b' });
  });
  it('puts a deal dropped on a deal of another column just before it', () => {
    expect(moveTarget(cols(), 'a2', 'b1')).toEqual({ stage_id: 'b', before_id: 'b1' });
  });
  it('within a column, goes after a deal passed downwards and before one passed upwards', () => {
    expect(moveTarget(cols(), 'a1', 'a3')).toEqual({ stage_id: 'a', after_id: 'a3' });
    expect(moveTarget(cols(), 'a3', 'a1')).toEqual({ stage_id: 'a', before_id: 'a1' });
  });
  it('asks for nothing when nothing changes', () => {
    expect(moveTarget(cols(), 'a1', 'a1')).toBeNull();
    expect(moveTarget(cols(), 'a3', columnId('a'))).toBeNull();
    expect(moveTarget(cols(), 'a1', 'nowhere')).toBeNull();
  });
});

describe('applyMove', () => {
  it('moves the deal between columns and adjusts the counts', () => {
    const next = applyMove(cols(), 'a2', { stage_id: 'b', before_id: 'b1' });
    expect(next[0].deals.map((d) => d.id)).toEqual(['a1', 'a3']);
    expect(next[1].deals.map((d) => d.id)).toEqual(['a2', 'b1']);
    expect([next[0].count, next[1].count]).toEqual([2, 2]);
    expect(next[1].deals[0].stage_id).toBe('b');
  });
  it('reorders within a column without changing its count', () => {
    const next = applyMove(cols(), 'a1', { stage_id: 'a', after_id: 'a3' });
    expect(next[0].deals.map((d) => d.id)).toEqual(['a2', 'a3', 'a1']);
    expect(next[0].count).toBe(3);
  });
  it('appends at the end of an empty column', () => {
    const next = applyMove(cols(), 'b1', { stage_id: 'c' });
    expect(next[2].deals.map((d) => d.id)).toEqual(['b1']);
    expect(next[1].count).toBe(0);
  });
  it('leaves the board alone for an unknown deal', () => {
    const c = cols();
    expect(applyMove(c, 'zz', { stage_id: 'c' })).toBe(c);
  });
});

describe('stage names and quick actions', () => {
  it('shows the reader language, falling back to the other', () => {
    expect(stageName({ name_en: 'Lead', name_zh: '线索' }, 'zh')).toBe('线索');
    expect(stageName({ name_en: 'Lead', name_zh: '线索' }, 'en')).toBe('Lead');
    expect(stageName({ name_en: '', name_zh: '渠道' }, 'en')).toBe('渠道');
    expect(stageName({ name_en: 'Demo', name_zh: '' }, 'zh')).toBe('Demo');
  });
  it('finds the first won and lost stages in order', () => {
    const p: Pipeline = {
      id: 'p', name_en: 'Sales', name_zh: '销售', is_default: true,
      stages: [
        { id: 'l2', pipeline_id: 'p', name_en: 'Lost late', name_zh: '', position: 3, probability: 0, kind: 'lost' },
        { id: 'w', pipeline_id: 'p', name_en: 'Won', name_zh: '', position: 1, probability: 100, kind: 'won' },
        { id: 'l1', pipeline_id: 'p', name_en: 'Lost', name_zh: '', position: 2, probability: 0, kind: 'lost' },
        { id: 'o', pipeline_id: 'p', name_en: 'Lead', name_zh: '', position: 0, probability: 10, kind: 'open' },
      ],
    };
    expect(closingStage(p, 'won')?.id).toBe('w');
    expect(closingStage(p, 'lost')?.id).toBe('l1');
  });
});
