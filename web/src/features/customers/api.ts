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
  address?: Record<string, unknown>;
  custom: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export function useFieldDefs(slug: string) {
  return useQuery({
    queryKey: ['tenant', slug, 'fields', 'customers', false],
    queryFn: () => get<{ items: FieldDef[] }>(tpath(slug, '/fields/customers')),
    select: (d) => d.items,
  });
}
