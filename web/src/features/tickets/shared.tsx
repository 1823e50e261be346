// Pieces the ticket screens share: a customer's name as a link, a customer
// picker that searches, and the status and priority tags.
import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Select, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { type Customer } from '../customers/api';
import { PRIORITY_COLOR, STATUS_COLOR, type Status, type Ticket } from './api';
import { countdown, liveTarget, span } from './sla';

export function CustomerName({ id }: { id: string }) {
  const tenant = useTenant();
  const c = useQuery({ queryKey: ['tenant', tenant.slug, 'customer', id], queryFn: () => get<Customer>(tpath(tenant.slug, `/customers/${id}`)), retry: false, staleTime: 60_000 });
  return <Link to={`/t/${tenant.slug}/customers/${id}`}>{c.data?.name ?? '…'}</Link>;
}

export function CustomerPicker({ id, value, onChange }: { id?: string; value?: string; onChange?: (v: string | undefined) => void }) {
  const tenant = useTenant();
  const [q, setQ] = useState('');
  const found = useQuery({
    queryKey: ['tenant', tenant.slug, 'customers', 'pick', q],
    queryFn: () => get<{ items: Customer[] }>(tpath(tenant.slug, '/customers'), { q, limit: 20 }),
    enabled: q.trim().length > 0,
    staleTime: 30_000,
  });
  return (
    <Select id={id} allowClear showSearch={{ filterOption: false, onSearch: setQ }} value={value} onChange={(v) => onChange?.(v ?? undefined)}
      loading={found.isFetching} notFoundContent={null}
      options={(found.data?.items ?? []).map((c) => ({ value: c.id, label: [c.name, c.emails[0]].filter(Boolean).join(' · ') }))} />
  );
}

export function StatusTag({ status }: { status: Status }) {
  const { t } = useTranslation('tickets');
  return <Tag color={STATUS_COLOR[status]}>{t('status_' + status)}</Tag>;
}

export function PriorityTag({ priority }: { priority: string }) {
  const { t } = useTranslation('tickets');
  return <Tag bordered={false} color={PRIORITY_COLOR[priority]}>{t('priority_' + priority)}</Tag>;
}

/** useNow is the time, moving on every interval ms, for countdowns. */
export function useNow(interval = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), interval);
    return () => clearInterval(id);
  }, [interval]);
  return now;
}

const LEVEL_COLOR = { ok: 'green', warning: 'orange', breached: 'red' } as const;

/**
 * SlaBadge counts down the target a ticket races now (first response, next
 * response or resolution): green while in time, orange once its warning is
 * due, red when overdue; grey while its clock stands still.
 */
export function SlaBadge({ ticket, now }: { ticket: Ticket; now: number }) {
  const { t } = useTranslation('tickets');
  const target = liveTarget(ticket);
  if (!target) return null;
  const c = countdown(target, now);
  const amount = span(c, { d: t('unit_d'), h: t('unit_h'), m: t('unit_m') });
  const paused = !!ticket.sla_paused_at && !c.overdue;
  const text = paused ? t('sla_paused') : t(c.overdue ? 'sla_overdue' : 'sla_left', { amount });
  return (
    <Tag color={paused ? 'default' : LEVEL_COLOR[c.level]} data-testid="sla-badge" data-level={paused ? 'paused' : c.level} title={t('target_' + target.name)} style={{ whiteSpace: 'nowrap' }}>
      {t('targetShort_' + target.name)} · {text}
    </Tag>
  );
}
