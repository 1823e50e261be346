import { describe, expect, it } from 'vitest';
import { STATUSES, isOpen, nextStatuses, slaState, ticketNumber } from './api';
import './locales';
import i18n from '../../app/i18n';

describe('ticket status rules', () => {
  it('never go back to new, close only from solved, and end at closed', () => {
    for (const s of STATUSES) expect(nextStatuses(s)).not.toContain('new');
    expect(STATUSES.filter((s) => nextStatuses(s).includes('closed'))).toEqual(['solved']);
    expect(nextStatuses('closed')).toEqual([]);
    expect(nextStatuses('solved')).toContain('open');
  });
  it('count what still needs work as open', () => {
    expect(STATUSES.filter(isOpen)).toEqual(['new', 'open', 'pending', 'on_hold']);
  });
  it('name tickets by number', () => {
    expect(ticketNumber({ number: 1001 })).toBe('#1001');
  });
});

describe('ticket texts', () => {
  it('exist in English and Chinese for every status, priority, channel and type', () => {
    const keys = ['status_new', 'status_open', 'status_pending', 'status_on_hold', 'status_solved', 'status_closed', 'priority_urgent', 'channel_web_form', 'type_complaint', 'reply', 'note'];
    for (const lang of ['en', 'zh']) {
      for (const k of keys) {
        expect(i18n.exists(`tickets:${k}`, { lng: lang }), `${lang} ${k}`).toBe(true);
      }
    }
    expect(i18n.getFixedT('zh', 'tickets')('status_on_hold')).not.toBe(i18n.getFixedT('en', 'tickets')('status_on_hold'));
  });
});

describe('SLA state', () => {
  const due = '2026-12-04T10:00:00Z';
  const at = (s: string) => Date.parse(s);
  it('is met or breached once done, by the due time', () => {
    expect(slaState(due, '2026-12-04T09:59:59Z', false, at('2026-12-05T00:00:00Z'))).toBe('met');
    expect(slaState(due, '2026-12-04T10:00:01Z', false, at('2026-12-05T00:00:00Z'))).toBe('breached');
  });
  it('runs, pauses, or is breached while open, and is none without a target', () => {
    expect(slaState(due, undefined, false, at('2026-12-04T09:00:00Z'))).toBe('running');
    expect(slaState(due, undefined, true, at('2026-12-04T09:00:00Z'))).toBe('paused');
    expect(slaState(due, undefined, false, at('2026-12-04T10:00:01Z'))).toBe('breached');
    expect(slaState(undefined, undefined, false, 0)).toBe('none');
  });
});
