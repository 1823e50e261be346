// Past imports with their counts and progress; a new one starts the wizard.
import './locales';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, Progress, Space, Table, Tag, Typography } from 'antd';
import { DownloadOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { useMembers } from '../customers/api';
import { ExportButton } from '../customers/ExportButton';
import { type ImportView, STATUS_COLOR } from './locales';

export default function ImportsPage() {
  const { t } = useTranslation('imports');
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'imports'],
    queryFn: () => get<{ items: ImportView[] }>(tpath(tenant.slug, '/imports')),
    refetchInterval: (x) => (x.state.data?.items.some((i) => ['queued', 'running', 'reverting'].includes(i.status)) ? 2000 : false),
  });
  const newButton = (
    <Link to={`/t/${tenant.slug}/imports/new`}>
      <Button type="primary" icon={<PlusOutlined />} data-testid="new-import">{t('new')}</Button>
    </Link>
  );
  const extra = (
    <Space wrap>
      <ExportButton entity="purchases" params={new URLSearchParams()} fields={[]} label={t('exportPurchases')} />
      {newButton}
    </Space>
  );
  return (
    <div>
      <PageHeader title={t('title')} subtitle={t('subtitle')} extra={extra} />
      <Card styles={{ body: { padding: 0 } }}>
        {q.error ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
          <Table<ImportView> rowKey="id" loading={q.isPending} dataSource={q.data?.items ?? []} pagination={{ pageSize: 25, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: <EmptyState text={t('empty')}>{newButton}</EmptyState> }}
            columns={[
              {
                title: t('file'),
                render: (_, i) => (
                  <Space direction="vertical" size={0}>
                    <Link to={`/t/${tenant.slug}/imports/${i.id}`} style={{ fontWeight: 500 }}>{i.filename}</Link>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {[i.entity && i.entity !== 'customers' ? t('entity_' + i.entity) : '', i.format?.toUpperCase(), i.encoding && i.format === 'csv' ? i.encoding.toUpperCase() : '', i.mode && t('mode_' + i.mode)].filter(Boolean).join(' · ')}
                    </Typography.Text>
                  </Space>
                ),
              },
              { title: t('created'), render: (_, i) => <span style={{ whiteSpace: 'nowrap' }}>{f.dateTime(i.created_at)}</span> },
              { title: t('by'), render: (_, i) => members.name(i.created_by) ?? '' },
              { title: t('status'), render: (_, i) => <Tag color={STATUS_COLOR[i.status]}>{t('status_' + i.status)}</Tag> },
              {
                title: t('rows'),
                render: (_, i) => (
                  <div style={{ width: 180 }}>
                    <Progress aria-label={t('rows')} percent={Math.round(i.progress * 100)} size="small" status={i.status === 'failed' ? 'exception' : i.status === 'completed' ? 'success' : i.status === 'running' ? 'active' : 'normal'} />
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>{f.number(i.processed)} / {f.number(i.total)}</Typography.Text>
                  </div>
                ),
              },
              { title: t('created_n'), align: 'right', render: (_, i) => f.number(i.created) },
              { title: t('updated_n'), align: 'right', render: (_, i) => f.number(i.updated) },
              { title: t('skipped_n'), align: 'right', render: (_, i) => f.number(i.skipped) },
              { title: t('failed_n'), align: 'right', render: (_, i) => (i.failed ? <Typography.Text type="danger">{f.number(i.failed)}</Typography.Text> : '0') },
              {
                key: 'report',
                render: (_, i) => (i.failed > 0 || i.skipped > 0 ? <Button size="small" type="link" icon={<DownloadOutlined />} href={i.errors_url} aria-label={`${t('report')}: ${i.filename}`} /> : null),
              },
            ]} />
        )}
      </Card>
    </div>
  );
}
