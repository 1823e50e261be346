// The SLA countdown of the inbox: which of a ticket's targets runs now, and
// how long is left (or how far past it is).
import { type Ticket } from './api';

export interface Target {
  name: 'first_response' | 'next_response' | 'resolution';
  due: string;
  warnAt?: string;
}

/**
 * liveTarget is the target a ticket is racing now: its first response until
 * it came, then a next response while the requester waits, then resolution;
 * none once solved or closed, or without a policy.
 */
export function liveTarget(t: Pick<Ticket, 'status' | 'first_response_due_at' | 'first_responded_at' | 'resolution_due_at'> & {
  first_response_warn_at?: string; next_response_due_at?: string; next_response_warn_at?: string; resolution_warn_at?: string;
}): Target | undefined {
  if (t.status === 'solved' || t.status === 'closed') return undefined;
  if (t.first_response_due_at && !t.first_responded_at) return { name: 'first_response', due: t.first_response_due_at, warnAt: t.first_response_warn_at };
  if (t.next_response_due_at) return { name: 'next_response', due: t.next_response_due_at, warnAt: t.next_response_warn_at };
  if (t.resolution_due_at) return { name: 'resolution', due: t.resolution_due_at, warnAt: t.resolution_warn_at };
  return undefined;
}

/** Countdown is what a badge says: the time left (or overdue) in its two largest units, and how urgent it is. */
export interface Countdown {
  overdue: boolean;
  level: 'ok' | 'warning' | 'breached';
  days: number;
  hours: number;
  minutes: number;
}

/** countdown works out a target's badge at now (ms). */
export function countdown(target: Target, now: number): Countdown {
  const due = Date.parse(target.due);
  const left = due - now;
  const abs = Math.abs(left);
  const minutesTotal = Math.floor(abs / 60_000);
  const days = Math.floor(minutesTotal / 1440);
  const hours = Math.floor((minutesTotal % 1440) / 60);
  const minutes = minutesTotal % 60;
  let level: Countdown['level'] = 'ok';
  if (left < 0) level = 'breached';
  else if (target.warnAt && now >= Date.parse(target.warnAt)) level = 'warning';
  return { overdue: left < 0, level, days, hours, minutes };
}

/** span writes a countdown's amount in its two largest units: 2d 3h, 4h 05m, 12m. */
export function span(c: Countdown, units: { d: string; h: string; m: string }): string {
  if (c.days > 0) return `${c.days}${units.d} ${c.hours}${units.h}`;
  if (c.hours > 0) return `${c.hours}${units.h} ${String(c.minutes).padStart(2, '0')}${units.m}`;
  return `${c.minutes}${units.m}`;
}
