// A customer's recent tickets, on the customer's page. Where tickets are off
// for the company, or the member may not read them, it shows nothing.
import './locales';
import { useQuery } from '@tanstack/react-query';
import { Card, List, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { type Page, type Ticket, ticketNumber } from './api';
import { StatusTag } from './shared';

export function CustomerTickets({ id }: { id: string }) {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const f = useFormat();
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'tickets', 'requester', id],
    queryFn: () => get<Page<Ticket>>(tpath(tenant.slug, '/tickets'), { requester_id: id, limit: 5 }),
    retry: false,
  });
  if (q.error instanceof ApiError && (q.error.status === 403 || q.error.status === 404)) return null;
  return (
    <Card title={t('recentTickets')} style={{ marginTop: 16 }} loading={q.isPending} data-testid="customer-tickets">
      <List<Ticket> dataSource={q.data?.items ?? []} locale={{ emptyText: t('noTickets') }}
        renderItem={(x) => (
          <List.Item>
            <Space size={8} wrap>
              <Typography.Text type="secondary">{ticketNumber(x)}</Typography.Text>
              <Link to={`/t/${tenant.slug}/tickets/${x.id}`}>{x.subject}</Link>
              <StatusTag status={x.status} />
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>{f.relative(x.updated_at)}</Typography.Text>
            </Space>
          </List.Item>
        )} />
    </Card>
  );
}
