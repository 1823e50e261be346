// Export the list as it is filtered (or a saved segment), with the visible
// columns, as CSV or XLSX: a background job whose progress shows in a dialog
// until the file can be downloaded.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Alert, App, Button, Dropdown, Modal, Progress, Space, Typography } from 'antd';
import { DownOutlined, DownloadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { errorMessage, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';

interface ExportView { id: string; status: string; format: string; done: number; total?: number; rows?: number; fraction?: number; download_url?: string; error?: string; expires_at?: string }

const FINISHED = ['succeeded', 'failed', 'canceled'];

/** ExportButton exports an entity's list (customers unless entity says otherwise; fields beyond the id are the entity's columns). */
export function ExportButton({ params, fields, segmentQuery, entity = 'customers', label }: { params: URLSearchParams; fields: string[]; segmentQuery?: string; entity?: string; label?: string }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const { message } = App.useApp();
  const [job, setJob] = useState<ExportView | null>(null);
  const st = useQuery({
    queryKey: ['tenant', tenant.slug, 'export', job?.id],
    enabled: !!job,
    queryFn: () => get<ExportView>(tpath(tenant.slug, `/exports/${job!.id}`)),
    refetchInterval: (q) => (FINISHED.includes(q.state.data?.status ?? '') ? false : 1000),
  });
  const start = async (format: 'csv' | 'xlsx') => {
    const p = new URLSearchParams(params);
    const segment = p.get('segment_id') ?? undefined;
    p.delete('segment_id');
    p.delete('sort');
    try {
      const r = await post<ExportView>(tpath(tenant.slug, '/exports'), {
        entity,
        format,
        fields: entity === 'customers' ? ['id', ...fields] : fields.length ? fields : undefined,
        // A segment narrowed by more filters goes as one filter: the segment's and the list's.
        ...(segment && !p.toString() ? { segment_id: segment } : { filter: [segment ? segmentQuery : '', p.toString()].filter(Boolean).join('&') }),
      });
      setJob(r);
    } catch (e) {
      message.error(errorMessage(e));
    }
  };
  const v = st.data ?? job;
  const pct = v ? (v.status === 'succeeded' ? 100 : Math.round((v.fraction ?? 0) * 100)) : 0;
  return (
    <>
      <Dropdown
        trigger={['click']}
        menu={{ items: [{ key: 'csv', label: t('exportCsv') }, { key: 'xlsx', label: t('exportXlsx') }], onClick: ({ key }) => start(key as 'csv' | 'xlsx') }}
      >
        <Button icon={<DownloadOutlined />} data-testid={entity === 'customers' ? 'export' : `export-${entity}`}>
          <Space size={4}>{label ?? t('export')}<DownOutlined style={{ fontSize: 10 }} /></Space>
        </Button>
      </Dropdown>
      <Modal
        open={!!job}
        title={t('exportTitle', { format: (v?.format ?? '').toUpperCase() })}
        onCancel={() => setJob(null)}
        footer={
          v?.status === 'succeeded' && v.download_url ? (
            <Button type="primary" icon={<DownloadOutlined />} href={v.download_url} data-testid="export-download">{t('download')}</Button>
          ) : (
            <Button onClick={() => setJob(null)}>{t('common:action.close')}</Button>
          )
        }
      >
        {v && (
          <Space direction="vertical" style={{ width: '100%' }}>
            <Progress aria-label={t('export')} percent={pct} status={v.status === 'failed' ? 'exception' : v.status === 'succeeded' ? 'success' : 'active'} />
            <Typography.Text type="secondary" aria-live="polite">
              {v.status === 'succeeded'
                ? t('exportReady', { n: f.number(v.rows ?? v.done) })
                : v.total
                  ? t('exportProgress', { done: f.number(v.done), total: f.number(v.total) })
                  : t('exporting')}
            </Typography.Text>
            {v.status === 'succeeded' && v.expires_at && <Typography.Text type="secondary">{t('exportExpires', { at: f.dateTime(v.expires_at) })}</Typography.Text>}
            {v.error && <Alert type="error" showIcon message={v.error} />}
          </Space>
        )}
      </Modal>
    </>
  );
}
