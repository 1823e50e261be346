// Queries the customer screens share: field definitions and members (for owners
// and user fields), cached per company.
import { useQuery } from '@tanstack/react-query';
import { get, tpath } from '../../app/api';
import type { FieldDef } from './fields';

export interface Customer {
  id: string;
  kind: 'person' | 'company';
  name: string;
  emails: string[];
  phones: string[];
  tags: string[];
  lifecycle: string;
  source: string;
  owner_id?: string;
  company_id?: string;
  address?: Record<string, string>;
  custom: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface Member {
  identity_id: string;
  email: string;
  name: string;
  role: string;
}

/** useFieldDefs is the live (not archived) custom fields of customers, in their order. */
export function useFieldDefs(slug: string) {
  return useQuery({
    queryKey: ['tenant', slug, 'fields', 'customers', false],
    queryFn: () => get<{ items: FieldDef[] }>(tpath(slug, '/fields/customers')),
    select: (d) => d.items.filter((x) => !x.archived_at),
    staleTime: 30_000,
  });
}

/** useTeams lists the company's teams (the same query, and cache, as the teams page). */
export function useTeams(slug: string) {
  return useQuery({
    queryKey: ['tenant', slug, 'teams'],
    queryFn: async () => (await get<{ items: { id: string; name: string }[] }>(tpath(slug, '/teams'))).items,
    staleTime: 60_000,
    retry: false,
  });
}

/** useMembers lists the company's members; name() says who an id is. */
export function useMembers(slug: string) {
  const q = useQuery({
    queryKey: ['tenant', slug, 'members', 'directory'],
    queryFn: () => get<{ items: Member[] }>(tpath(slug, '/members')),
    staleTime: 60_000,
    retry: false,
  });
  const items = q.data?.items ?? [];
  const byId = new Map(items.map((m) => [m.identity_id, m]));
  return {
    ...q,
    items,
    name: (id?: string) => (id ? byId.get(id)?.name || byId.get(id)?.email : undefined),
    options: items.map((m) => ({ value: m.identity_id, label: m.name || m.email })),
  };
}

export const ADDRESS_PARTS = ['street', 'city', 'province', 'postcode', 'country'] as const;

/** CURRENCIES offered first in money inputs; any ISO 4217 code can be typed. */
export const CURRENCIES = ['CNY', 'USD', 'EUR', 'HKD', 'JPY', 'GBP', 'SGD', 'TWD', 'KRW', 'AUD'];
