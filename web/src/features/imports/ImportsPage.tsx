// Past imports with their counts; a new one starts the wizard.
import { useQuery } from '@tanstack/react-query';
import { Button, Card, Progress, Table, Tag } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { type ImportView } from './locales';
import './locales';

export default function ImportsPage() {
  const { t } = useTranslation('imports');
  const tenant = useTenant();
  const f = useFormat();
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'imports'],
    queryFn: () => get<{ items: ImportView[] }>(tpath(tenant.slug, '/imports')),
    refetchInterval: (q) => (q.state.data?.items.some((i) => ['queued', 'running', 'reverting'].includes(i.status)) ? 2000 : false),
  });
  return (
    <div>
      <PageHeader title={t('title')} subtitle={t('subtitle')}
        extra={<Link to={`/t/${tenant.slug}/imports/new`}><Button type="primary" icon={<PlusOutlined />} data-testid="new-import">{t('new')}</Button></Link>} />
      <Card>
        {q.error ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
          <Table<ImportView> rowKey="id" loading={q.isPending} dataSource={q.data?.items ?? []} pagination={false}
            locale={{ emptyText: <EmptyState /> }}
            columns={[
              { title: t('file'), render: (_, i) => <Link to={`/t/${tenant.slug}/imports/${i.id}`}>{i.filename}</Link> },
              { title: t('created'), render: (_, i) => f.dateTime(i.created_at) },
              { title: t('status'), render: (_, i) => <Tag>{t('status_' + i.status)}</Tag> },
              { title: t('rows'), render: (_, i) => f.number(i.total) },
              { title: '', render: (_, i) => <Progress percent={Math.round(i.progress * 100)} size="small" style={{ width: 160 }} /> },
              { title: t('created_n'), render: (_, i) => f.number(i.created) },
              { title: t('updated_n'), render: (_, i) => f.number(i.updated) },
              { title: t('failed_n'), render: (_, i) => f.number(i.failed) },
            ]} />
        )}
      </Card>
    </div>
  );
}
