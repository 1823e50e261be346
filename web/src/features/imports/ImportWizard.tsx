// The import wizard: upload, map columns (suggestions pre-filled), check the
// first rows, run with a live progress bar, rate and ETA, then the counts with
// the error report; cancel while running, revert afterwards.
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Popconfirm, Progress, Radio, Row, Select, Space, Statistic, Steps, Table, Upload } from 'antd';
import { InboxOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router-dom';
import { api, errorMessage, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import { useFieldDefs } from '../customers/api';
import { fieldLabel } from '../customers/fields';
import { type ImportUpload, type ImportView } from './locales';
import './locales';
import '../customers/locales';

const TARGETS = ['name', 'kind', 'emails', 'phones', 'company', 'address', 'tags', 'lifecycle', 'source'];

export default function ImportWizard() {
  const { t, i18n } = useTranslation(['imports', 'customers']);
  const { id } = useParams();
  const tenant = useTenant();
  const nav = useNavigate();
  const { message } = App.useApp();
  const defs = useFieldDefs(tenant.slug).data ?? [];
  const [encoding, setEncoding] = useState('');
  const [up, setUp] = useState<ImportUpload | null>(null);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [mode, setMode] = useState('upsert');
  const [matchOn, setMatchOn] = useState('email');
  const [step, setStep] = useState(id ? 3 : 0);
  const [uploading, setUploading] = useState(false);
  useEffect(() => setStep(id ? 3 : 0), [id]);

  const targets = [
    ...TARGETS.map((x) => ({ value: x, label: t('customers:' + (x === 'company' ? 'company' : x === 'address' ? 'address' : x)) })),
    ...defs.map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) })),
  ];
  const upload = async (file: File) => {
    setUploading(true);
    const fd = new FormData();
    fd.append('file', file);
    fd.append('entity', 'customers');
    if (encoding) fd.append('encoding', encoding);
    try {
      const r = await api<ImportUpload>('POST', tpath(tenant.slug, '/imports'), { body: fd });
      setUp(r);
      setMapping(r.suggested_mapping);
      setStep(1);
    } catch (e) {
      message.error(errorMessage(e));
    } finally {
      setUploading(false);
    }
  };
  const start = async () => {
    try {
      await post(tpath(tenant.slug, `/imports/${up!.id}/start`), { mapping, mode, match_on: mode === 'create' ? undefined : matchOn });
      nav(`/t/${tenant.slug}/imports/${up!.id}`);
    } catch (e) {
      message.error(errorMessage(e));
    }
  };
  return (
    <div>
      <PageHeader title={t('new')} subtitle={t('subtitle')} />
      <Card>
        <Steps current={step} style={{ marginBottom: 24 }}
          items={['upload', 'map', 'preview', 'run', 'result'].map((s) => ({ title: t('step_' + s) }))} />
        {step === 0 && (
          <Space direction="vertical" style={{ width: '100%' }}>
            <Space>
              {t('encoding')}
              <Radio.Group value={encoding} onChange={(e) => setEncoding(e.target.value)}
                options={[{ value: '', label: t('auto') }, { value: 'utf-8', label: 'UTF-8' }, { value: 'gbk', label: 'GBK' }]} />
            </Space>
            <Upload.Dragger accept=".csv,.xlsx,text/csv" multiple={false} showUploadList={false} disabled={uploading}
              beforeUpload={(file) => { upload(file); return false; }} data-testid="import-upload">
              <p className="ant-upload-drag-icon"><InboxOutlined /></p>
              <p className="ant-upload-text">{t('drop')}</p>
              <p className="ant-upload-hint">{t('dropHint')}</p>
            </Upload.Dragger>
            {uploading && <Progress percent={99} status="active" showInfo={false} />}
          </Space>
        )}
        {step === 1 && up && (
          <Space direction="vertical" style={{ width: '100%' }}>
            <Table rowKey="col" pagination={false} size="small" data-testid="mapping-table"
              dataSource={up.columns.map((col, i) => ({ col, ex: up.sample.slice(0, 3).map((r) => r[i]).filter(Boolean).join(' · ') }))}
              columns={[
                { title: t('column'), dataIndex: 'col' },
                { title: t('sample'), dataIndex: 'ex', ellipsis: true },
                {
                  title: t('target'),
                  render: (_, r) => (
                    <Select style={{ width: 240 }} aria-label={`${t('target')}: ${r.col}`} value={mapping[r.col] ?? ''}
                      onChange={(v) => setMapping({ ...mapping, [r.col]: v })}
                      options={[{ value: '', label: t('ignore') }, ...targets]} />
                  ),
                },
              ]} />
            <Space wrap>
              {t('mode')}
              <Radio.Group value={mode} onChange={(e) => setMode(e.target.value)}
                options={['create', 'update', 'upsert'].map((m) => ({ value: m, label: t('mode_' + m) }))} />
              {mode !== 'create' && (
                <>
                  {t('matchOn')}
                  <Select style={{ width: 200 }} value={matchOn} onChange={setMatchOn} aria-label={t('matchOn')}
                    options={[{ value: 'email', label: t('email') }, { value: 'phone', label: t('phone') },
                      ...defs.filter((d) => d.unique).map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) }))]} />
                </>
              )}
            </Space>
            <Space>
              <Button onClick={() => setStep(0)}>{t('back')}</Button>
              <Button type="primary" onClick={() => setStep(2)} data-testid="import-next">{t('next')}</Button>
            </Space>
          </Space>
        )}
        {step === 2 && up && (
          <Space direction="vertical" style={{ width: '100%' }}>
            {up.dry_run.length === 0 ? (
              <Alert type="success" showIcon message={t('dryRunOk', { n: up.dry_run_checked })} />
            ) : (
              <>
                <Alert type="warning" showIcon message={t('problems', { n: up.dry_run.length })} />
                <Table rowKey={(r) => `${r.row}-${r.column}-${r.reason}`} size="small" pagination={false} dataSource={up.dry_run}
                  columns={[{ title: t('row'), dataIndex: 'row' }, { title: t('column'), dataIndex: 'column' }, { title: t('value'), dataIndex: 'value' }, { title: t('reason'), dataIndex: 'reason' }]} />
              </>
            )}
            <Space>
              <Button onClick={() => setStep(1)}>{t('back')}</Button>
              <Button type="primary" onClick={start} data-testid="import-start">{t('start')}</Button>
            </Space>
          </Space>
        )}
        {step >= 3 && id && <ImportProgress id={id} onDone={() => setStep(4)} />}
      </Card>
    </div>
  );
}

function ImportProgress({ id, onDone }: { id: string; onDone: () => void }) {
  const { t } = useTranslation('imports');
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'import', id],
    queryFn: () => get<ImportView>(tpath(tenant.slug, `/imports/${id}`)),
    refetchInterval: (x) => (['queued', 'running', 'reverting'].includes(x.state.data?.status ?? 'queued') ? 1000 : false),
  });
  const v = q.data;
  const finished = v && ['completed', 'failed', 'canceled', 'reverted'].includes(v.status);
  useEffect(() => {
    if (finished) onDone();
  }, [finished, onDone]);
  if (!v) return <Loading />;
  const act = async (what: 'cancel' | 'revert') => {
    try {
      await post(tpath(tenant.slug, `/imports/${id}/${what}`));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'import', id] });
    } catch (e) {
      message.error(errorMessage(e));
    }
  };
  const pct = v.status === 'reverting' || v.status === 'reverted' ? Math.round((v.reverted / Math.max(1, v.created + v.updated)) * 100) : Math.round(v.progress * 100);
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="import-progress">
      <div>
        <b>{v.filename}</b> · {t('status_' + v.status)}
      </div>
      <Progress percent={pct} status={v.status === 'failed' ? 'exception' : v.status === 'completed' ? 'success' : 'active'} data-testid="import-bar" />
      <div style={{ color: '#555b66' }}>
        {t('processed', { done: f.number(v.processed), total: f.number(v.total) })}
        {v.rows_per_second > 0 && ` · ${t('rate', { rate: f.number(Math.round(v.rows_per_second)) })}`}
        {v.eta_seconds !== undefined && v.status === 'running' && ` · ${t('eta', { s: v.eta_seconds })}`}
      </div>
      {v.error && <Alert type="error" showIcon message={v.error} />}
      <Row gutter={16}>
        <Col span={6}><Statistic title={t('created_n')} value={v.created} /></Col>
        <Col span={6}><Statistic title={t('updated_n')} value={v.updated} /></Col>
        <Col span={6}><Statistic title={t('skipped_n')} value={v.skipped} /></Col>
        <Col span={6}><Statistic title={t('failed_n')} value={v.failed} /></Col>
      </Row>
      <Space>
        {(v.failed > 0 || v.skipped > 0) && <Button href={v.errors_url} data-testid="import-report">{t('report')}</Button>}
        {['queued', 'running'].includes(v.status) && <Button danger onClick={() => act('cancel')}>{t('cancel')}</Button>}
        {['completed', 'canceled', 'failed'].includes(v.status) && (
          <Popconfirm title={t('revertConfirm')} onConfirm={() => act('revert')}>
            <Button>{t('revert')}</Button>
          </Popconfirm>
        )}
      </Space>
    </Space>
  );
}
