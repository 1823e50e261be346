import { describe, expect, it } from 'vitest';
import { drillFilters } from './TicketsPage';

describe('drillFilters', () => {
  it('keeps the filters a dashboard point gives, by the time its metric counts, and nothing else', () => {
    const sp = new URLSearchParams('channel=email&merged=false&with_sla=true&solved_at%5Bgte%5D=2026-01-04T16%3A00%3A00Z&solved_at%5Blt%5D=2026-01-11T16%3A00%3A00Z'
      + '&first_responded_at%5Bgte%5D=a&csat_rated_at%5Blt%5D=b&custom.grade%5Bempty%5D=true&status=open&colour=red&updated_at%5Bgte%5D=c');
    expect(drillFilters(sp)).toEqual({
      channel: 'email', merged: 'false', with_sla: 'true', 'solved_at[gte]': '2026-01-04T16:00:00Z', 'solved_at[lt]': '2026-01-11T16:00:00Z',
      'first_responded_at[gte]': 'a', 'csat_rated_at[lt]': 'b', 'custom.grade[empty]': 'true',
    });
  });
});
