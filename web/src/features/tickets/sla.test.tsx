import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import i18n from '../../app/i18n';
import './locales';
import { type Ticket } from './api';
import { countdown, liveTarget, span } from './sla';
import { SlaBadge } from './shared';

afterEach(() => {
  cleanup();
  void i18n.changeLanguage('en');
});

const now = Date.parse('2027-01-11T02:00:00Z');
const base = {
  id: 'tk', number: 1001, subject: 's', description: '', requester_id: 'c', channel: 'email', type: 'question', priority: 'normal', status: 'open',
  tags: [], custom: {}, version: 1, message_count: 0, sla_paused_seconds: 0, created_at: '2027-01-10T00:00:00Z', updated_at: '2027-01-10T00:00:00Z',
} as Ticket;
const units = { d: 'd', h: 'h', m: 'm' };

describe('SLA countdown', () => {
  it('races the first response, then a next response, then resolution, and nothing once solved', () => {
    const t = { ...base, first_response_due_at: '2027-01-11T03:00:00Z', resolution_due_at: '2027-01-12T00:00:00Z' };
    expect(liveTarget(t)?.name).toBe('first_response');
    expect(liveTarget({ ...t, first_responded_at: '2027-01-11T01:00:00Z' })?.name).toBe('resolution');
    expect(liveTarget({ ...t, first_responded_at: '2027-01-11T01:00:00Z', next_response_due_at: '2027-01-11T05:00:00Z' })?.name).toBe('next_response');
    expect(liveTarget({ ...t, status: 'solved' })).toBeUndefined();
    expect(liveTarget(base)).toBeUndefined();
  });

  it('counts down in its two largest units and turns orange at the warning, red when overdue', () => {
    const c = countdown({ name: 'resolution', due: '2027-01-13T05:07:00Z', warnAt: '2027-01-12T00:00:00Z' }, now);
    expect(c).toMatchObject({ overdue: false, level: 'ok', days: 2, hours: 3, minutes: 7 });
    expect(span(c, units)).toBe('2d 3h');
    const warned = countdown({ name: 'first_response', due: '2027-01-11T03:05:00Z', warnAt: '2027-01-11T01:30:00Z' }, now);
    expect(warned.level).toBe('warning');
    expect(span(warned, units)).toBe('1h 05m');
    const late = countdown({ name: 'first_response', due: '2027-01-11T01:48:30Z' }, now);
    expect(late).toMatchObject({ overdue: true, level: 'breached' });
    expect(span(late, units)).toBe('11m');
  });

  it('shows a badge in both languages, grey while the clock stands still', async () => {
    const t = { ...base, first_response_due_at: '2027-01-11T03:05:00Z', first_response_warn_at: '2027-01-11T01:30:00Z' };
    const { rerender } = render(<SlaBadge ticket={t} now={now} />);
    const badge = screen.getByTestId('sla-badge');
    expect(badge.textContent).toBe('Reply · 1h 05m left');
    expect(badge.getAttribute('data-level')).toBe('warning');
    rerender(<SlaBadge ticket={t} now={Date.parse('2027-01-11T04:05:00Z')} />);
    expect(screen.getByTestId('sla-badge').textContent).toBe('Reply · 1h 00m overdue');
    expect(screen.getByTestId('sla-badge').getAttribute('data-level')).toBe('breached');
    rerender(<SlaBadge ticket={{ ...t, sla_paused_at: '2027-01-11T01:00:00Z' }} now={now} />);
    expect(screen.getByTestId('sla-badge').getAttribute('data-level')).toBe('paused');
    await i18n.changeLanguage('zh');
    rerender(<SlaBadge ticket={t} now={now} />);
    expect(screen.getByTestId('sla-badge').textContent).toBe('响应 · 剩余 1小时 05分');
  });
});

describe('the inbox views', () => {
  it('asks for breaching soon as running targets due within hours, soonest first', async () => {
    const { listQuery, soonHours } = await import('./TicketsPage');
    expect(listQuery('breaching', ['new', 'open'], now)).toEqual({ status: 'new,open', sort: 'sla_due_at', 'sla_due_at[lte]': new Date(now + soonHours * 3_600_000).toISOString() });
    expect(listQuery('mine', [], now)).toEqual({ assignee: 'me' });
    expect(listQuery('all', ['open'], now)).toEqual({ status: 'open' });
  });
});
