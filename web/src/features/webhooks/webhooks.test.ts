import { describe, expect, it } from 'vitest';
import { CATALOGUE, groupEvents, outcome, statusColor } from './webhooks';

describe('groupEvents', () => {
  it('groups every event under its object as the server matches wildcards', () => {
    const groups = groupEvents();
    expect(groups.map((g) => g.object)).toEqual(['customer', 'customers', 'interaction', 'purchases', 'deal', 'deals', 'ticket', 'tickets', 'task']);
    const customer = groups.find((g) => g.object === 'customer')!;
    expect(customer.wildcard).toBe('customer.*');
    expect(customer.events).not.toContain('customers.imported');
    expect(groups.flatMap((g) => g.events).sort()).toEqual([...CATALOGUE].sort());
  });
});

describe('outcome', () => {
  it('reads the last answer, the error, or nothing', () => {
    expect(outcome({ attempts: 1, last_status: 200, last_latency_ms: 35 })).toBe('HTTP 200 · 35 ms');
    expect(outcome({ attempts: 3, last_status: 503, last_latency_ms: 1234 })).toBe('HTTP 503 · 1.2 s');
    expect(outcome({ attempts: 2, last_error: 'egress: address not allowed: 10.0.0.1 is not a public address' })).toMatch(/^egress/);
    expect(outcome({ attempts: 2, last_error: 'x'.repeat(100) })).toHaveLength(80);
    expect(outcome({ attempts: 0 })).toBe('');
  });
  it('colours each state', () => {
    expect(statusColor('failed')).toBe('red');
    expect(statusColor('succeeded')).toBe('green');
  });
});
