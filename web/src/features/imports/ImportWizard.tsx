// The import wizard: 1 upload, 2 map columns (the API's suggestions pre-filled),
// 3 check the first rows, 4 run with a live progress bar, rate and ETA (polled
// every second), 5 the counts with the error report; cancel while it runs,
// revert afterwards.
import './locales';
import '../customers/locales';
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Popconfirm, Progress, Radio, Result, Row, Select, Space, Statistic, Steps, Table, Tag, Typography, Upload } from 'antd';
import { DownloadOutlined, InboxOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { api, errorMessage, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import { useFieldDefs } from '../customers/api';
import { fieldLabel, formatEta } from '../customers/fields';
import { type ImportTarget, type ImportUpload, type ImportView, STATUS_COLOR } from './locales';
import { STANDARD_TARGETS, cleanMapping, mappingIssues, sampleValues, startProblems } from './mapping';

const RUNNING = ['queued', 'running', 'reverting'];
const FINISHED = ['completed', 'failed', 'canceled', 'reverted'];

/** ENTITIES are the entities the wizard imports (each has an adapter in the API). */
export const ENTITIES = ['customers', 'purchases', 'deals'];

function useTargets(entity: string, fromAPI?: ImportTarget[]) {
  const { t, i18n } = useTranslation(['imports', 'customers']);
  const tenant = useTenant();
  const defs = useFieldDefs(tenant.slug).data ?? [];
  const zh = i18n.language.startsWith('zh');
  const options = entity !== 'customers' ? [
    { label: t('imports:entity_' + entity), options: (fromAPI ?? []).map((x) => ({ value: x.key, label: (zh && x.label_zh) || x.label_en })) },
  ] : [
    { label: t('customers:standardFields'), options: STANDARD_TARGETS.map((x) => ({ value: x, label: x === 'company' ? t('imports:company') : t('customers:' + x) })) },
    ...(defs.length ? [{ label: t('customers:customFields'), options: defs.map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) })) }] : []),
  ];
  const label = (v: string) => options.flatMap((g) => g.options).find((o) => o.value === v)?.label ?? v;
  return { options, label, defs };
}

export default function ImportWizard({ entity: initial }: { entity?: string } = {}) {
  const { t, i18n } = useTranslation(['imports', 'customers', 'common']);
  const { id } = useParams();
  const [search] = useSearchParams();
  const tenant = useTenant();
  const nav = useNavigate();
  const [entity, setEntity] = useState(initial ?? (ENTITIES.includes(search.get('entity') ?? '') ? search.get('entity')! : 'customers'));
  const [encoding, setEncoding] = useState('');
  const [up, setUp] = useState<ImportUpload | null>(null);
  // An import reopened by its address has no target list: its own mapping stands in.
  const targets = useTargets(up?.entity ?? entity, up?.targets ?? Object.values(up?.suggested_mapping ?? {}).map((k) => ({ key: k, label_en: k })));
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [mode, setMode] = useState('upsert');
  const [matchOn, setMatchOn] = useState('email');
  const [step, setStep] = useState(0);
  const [uploading, setUploading] = useState<string | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [problems, setProblems] = useState<ReturnType<typeof startProblems> | null>(null);
  const [starting, setStarting] = useState(false);

  // An import opened by its address: one never started goes back to the mapping.
  const existing = useQuery({
    queryKey: ['tenant', tenant.slug, 'import', id],
    enabled: !!id && !up,
    queryFn: () => get<ImportView>(tpath(tenant.slug, `/imports/${id}`)),
  });
  // A new wizard (after "import another file") starts over.
  useEffect(() => {
    if (!id) {
      setStep(0);
      setUp(null);
      setProblems(null);
    }
  }, [id]);
  useEffect(() => {
    const v = existing.data;
    if (!id || !v || up) return;
    if (v.entity) setEntity(v.entity);
    if (v.status === 'uploaded') {
      setUp({ ...v, sample: [], suggested_mapping: v.mapping ?? {}, dry_run: [], dry_run_checked: 0 });
      setMapping(v.mapping ?? {});
      setStep(1);
    } else setStep(FINISHED.includes(v.status) ? 4 : 3);
  }, [id, existing.data, up]);

  const upload = async (file: File) => {
    setUploading(file.name);
    setUploadError(null);
    const fd = new FormData();
    fd.append('file', file);
    fd.append('entity', entity);
    if (encoding) fd.append('encoding', encoding);
    try {
      const r = await api<ImportUpload>('POST', tpath(tenant.slug, '/imports'), { body: fd });
      setUp(r);
      if (entity !== 'customers') setMode('create'); // other entities are only added
      setMapping(r.suggested_mapping ?? {});
      setProblems(null);
      setStep(1);
    } catch (e) {
      setUploadError(errorMessage(e));
    } finally {
      setUploading(null);
    }
  };
  const start = async () => {
    setStarting(true);
    setProblems(null);
    try {
      await post(tpath(tenant.slug, `/imports/${up!.id}/start`), { mapping: cleanMapping(mapping), mode, match_on: mode === 'create' ? undefined : matchOn });
      setStep(3);
      nav(`/t/${tenant.slug}/imports/${up!.id}`);
    } catch (e) {
      const p = startProblems(e);
      setProblems(p);
      if (Object.keys(p.columns).length || p.matchOn || p.mode) setStep(1);
    } finally {
      setStarting(false);
    }
  };
  const issues = mappingIssues(mapping, mode, entity);
  const mapped = Object.values(mapping).filter(Boolean).length;

  if (id && existing.error && !up) return <ErrorState error={existing.error} onRetry={() => existing.refetch()} />;
  if (id && !up && existing.isPending) return <Loading />;
  return (
    <div>
      <PageHeader title={t('new')} subtitle={t('subtitle')} extra={<Link to={`/t/${tenant.slug}/imports`}><Button>{t('title')}</Button></Link>} />
      <Card>
        <Steps current={step} style={{ marginBottom: 28 }} items={['upload', 'map', 'preview', 'run', 'result'].map((s) => ({ title: t('step_' + s) }))} />
        {step === 0 && (
          <Space direction="vertical" style={{ width: '100%' }} size="middle">
            {!initial && (
              <Space wrap>
                <span id="entity-label">{t('entity')}</span>
                <Radio.Group aria-labelledby="entity-label" value={entity} onChange={(e) => setEntity(e.target.value)} optionType="button" data-testid="import-entity"
                  options={ENTITIES.map((x) => ({ value: x, label: t('entity_' + x) }))} />
              </Space>
            )}
            {entity === 'purchases' && <Alert type="info" showIcon message={t('purchasesHint')} />}
            {entity === 'deals' && <Alert type="info" showIcon message={t('dealsHint')} />}
            <Space wrap>
              <span id="enc-label">{t('encoding')}</span>
              <Radio.Group aria-labelledby="enc-label" value={encoding} onChange={(e) => setEncoding(e.target.value)}
                options={[{ value: '', label: t('auto') }, { value: 'utf-8', label: 'UTF-8' }, { value: 'gbk', label: 'GBK' }, { value: 'gb18030', label: 'GB18030' }]} />
            </Space>
            <Upload.Dragger accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" multiple={false} showUploadList={false}
              disabled={!!uploading} beforeUpload={(file) => { void upload(file); return false; }} data-testid="import-upload">
              <p className="ant-upload-drag-icon"><InboxOutlined /></p>
              <p className="ant-upload-text">{t('drop')}</p>
              <p className="ant-upload-hint">{t('dropHint')}</p>
            </Upload.Dragger>
            {uploading && (
              <div role="status">
                <Typography.Text type="secondary">{t('uploading', { name: uploading })}</Typography.Text>
                <Progress percent={100} status="active" showInfo={false} aria-label={t('uploading', { name: uploading })} />
              </div>
            )}
            {uploadError && <Alert type="error" showIcon message={t('uploadFailed')} description={uploadError} data-testid="upload-error" />}
          </Space>
        )}
        {step === 1 && up && (
          <Space direction="vertical" style={{ width: '100%' }} size="middle">
            <Typography.Text strong>
              {up.filename} ·{' '}
              <Typography.Text type="secondary" style={{ fontWeight: 400 }}>{t('mappedCount', { n: mapped, total: up.columns.length })}</Typography.Text>
            </Typography.Text>
            <Table rowKey="col" pagination={false} size="small" data-testid="mapping-table"
              dataSource={up.columns.map((col, i) => ({ col, ex: sampleValues(up.sample, i) }))}
              columns={[
                { title: t('column'), dataIndex: 'col', width: '28%', render: (c: string) => <b>{c}</b> },
                { title: t('sample'), dataIndex: 'ex', ellipsis: true, render: (ex: string[]) => <Typography.Text type="secondary">{ex.join(' · ')}</Typography.Text> },
                {
                  title: t('target'),
                  width: 320,
                  render: (_, r) => {
                    const err = problems?.columns[r.col];
                    const twice = issues.some((x) => x.kind === 'twice' && x.columns?.includes(r.col));
                    return (
                      <Space direction="vertical" size={2} style={{ width: '100%' }}>
                        <Space>
                          <Select style={{ width: 240 }} aria-label={`${t('target')}: ${r.col}`} value={mapping[r.col] ?? ''} status={err || twice ? 'error' : undefined}
                            showSearch={{ optionFilterProp: 'label' }}
                            onChange={(v: string) => { setMapping({ ...mapping, [r.col]: v }); setProblems(null); }}
                            options={[{ value: '', label: t('ignore') }, ...targets.options]} />
                          {up.suggested_mapping?.[r.col] && up.suggested_mapping[r.col] === mapping[r.col] && <Tag color="green" bordered={false}>{t('suggested')}</Tag>}
                        </Space>
                        {err && <Typography.Text type="danger" style={{ fontSize: 12 }}>{err}</Typography.Text>}
                      </Space>
                    );
                  },
                },
              ]} />
            {issues.map((x) => (
              <Alert key={x.kind + x.target} type="warning" showIcon
                message={x.kind === 'needName' ? t('needName') : t('twice', { field: targets.label(x.target!), cols: x.columns!.join(', ') })} />
            ))}
            <Row gutter={[24, 12]}>
              <Col>
                <div id="mode-label" style={{ marginBottom: 6 }}>{t('mode')}</div>
                <Radio.Group aria-labelledby="mode-label" value={mode} onChange={(e) => setMode(e.target.value)} optionType="button"
                  options={(entity === 'customers' ? ['create', 'update', 'upsert'] : ['create']).map((m) => ({ value: m, label: t('mode_' + m) }))} />
                {problems?.mode && <div><Typography.Text type="danger">{problems.mode}</Typography.Text></div>}
              </Col>
              {mode !== 'create' && entity === 'customers' && (
                <Col>
                  <div style={{ marginBottom: 6 }}><label htmlFor="match-on">{t('matchOn')}</label></div>
                  <Select id="match-on" style={{ width: 220 }} value={matchOn} onChange={setMatchOn} status={problems?.matchOn ? 'error' : undefined}
                    options={[{ value: 'email', label: t('email') }, { value: 'phone', label: t('phone') },
                      ...targets.defs.filter((d) => d.unique).map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) }))]} />
                  {problems?.matchOn && <div><Typography.Text type="danger">{problems.matchOn}</Typography.Text></div>}
                </Col>
              )}
            </Row>
            {problems?.rest.map((r) => <Alert key={r} type="error" showIcon message={r} />)}
            <Space>
              <Button onClick={() => setStep(0)} disabled={!!id}>{t('back')}</Button>
              <Button type="primary" onClick={() => setStep(2)} disabled={issues.length > 0} data-testid="import-next">{t('next')}</Button>
            </Space>
          </Space>
        )}
        {step === 2 && up && (
          <Space direction="vertical" style={{ width: '100%' }} size="middle">
            {up.dry_run_checked > 0 && (up.dry_run.length === 0 ? (
              <Alert type="success" showIcon message={t('dryRunOk', { n: up.dry_run_checked })} />
            ) : (
              <Alert type="warning" showIcon message={t('problems', { n: up.dry_run.length })} />
            ))}
            {JSON.stringify(cleanMapping(mapping)) !== JSON.stringify(cleanMapping(up.suggested_mapping ?? {})) && up.dry_run_checked > 0 && (
              <Typography.Text type="secondary">{t('dryRunMapping')}</Typography.Text>
            )}
            {up.dry_run.length > 0 && (
              <Table rowKey={(r) => `${r.row}-${r.column}-${r.reason}`} size="small" pagination={false} dataSource={up.dry_run} data-testid="dry-run"
                columns={[
                  { title: t('row'), dataIndex: 'row', width: 70 },
                  { title: t('column'), dataIndex: 'column' },
                  { title: t('value'), dataIndex: 'value', render: (v: string) => <code>{v}</code> },
                  { title: t('reason'), dataIndex: 'reason' },
                  { title: t('outcome'), dataIndex: 'outcome', render: (o: string) => <Tag color={o === 'failed' ? 'red' : 'orange'}>{t('outcome_' + o)}</Tag> },
                ]} />
            )}
            {up.sample.length > 0 && (
              <>
                <Typography.Title level={5} style={{ margin: '8px 0 0' }}>{t('previewRows')}</Typography.Title>
                <Table<{ i: number; r: string[] }> size="small" pagination={false} scroll={{ x: 'max-content', y: 320 }} rowKey="i"
                  dataSource={up.sample.map((r, i) => ({ i, r }))}
                  columns={[
                    { title: t('row'), width: 60, render: (_: unknown, x) => x.i + 2 },
                    ...up.columns.map((col, ci) => ({ col, ci })).filter((x) => mapping[x.col]).map(({ col, ci }) => ({
                      title: <Space direction="vertical" size={0}><span>{targets.label(mapping[col])}</span><Typography.Text type="secondary" style={{ fontSize: 11, fontWeight: 400 }}>{col}</Typography.Text></Space>,
                      key: col,
                      render: (_: unknown, x: { r: string[] }) => x.r[ci],
                    })),
                  ]} />
              </>
            )}
            <Space>
              <Button onClick={() => setStep(1)}>{t('back')}</Button>
              <Button type="primary" onClick={start} loading={starting} data-testid="import-start">{t('start')}</Button>
            </Space>
          </Space>
        )}
        {step >= 3 && id && <ImportProgress id={id} onFinished={(done) => setStep(done ? 4 : 3)} />}
      </Card>
    </div>
  );
}

function ImportProgress({ id, onFinished }: { id: string; onFinished: (done: boolean) => void }) {
  const { t, i18n } = useTranslation('imports');
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'import', id],
    queryFn: () => get<ImportView>(tpath(tenant.slug, `/imports/${id}`)),
    refetchInterval: (x) => (RUNNING.includes(x.state.data?.status ?? 'queued') ? 1000 : false),
  });
  const v = q.data;
  const finished = !!v && FINISHED.includes(v.status);
  useEffect(() => {
    if (v) onFinished(finished);
  }, [finished, v, onFinished]);
  if (q.error) return <ErrorState error={q.error} onRetry={() => q.refetch()} />;
  if (!v) return <Loading />;
  const act = async (what: 'cancel' | 'revert') => {
    try {
      await post(tpath(tenant.slug, `/imports/${id}/${what}`));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'import', id] });
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'imports'] });
    } catch (e) {
      message.error(errorMessage(e));
    }
  };
  const reverting = v.status === 'reverting' || v.status === 'reverted';
  const revertTotal = Math.max(1, v.created + v.updated);
  const pct = reverting ? Math.min(100, Math.round((v.reverted / revertTotal) * 100)) : Math.min(100, Math.round(v.progress * 100));
  const counts = (
    <Row gutter={[16, 16]}>
      {(
        [
          ['created', v.created, '#15803d'],
          ['updated', v.updated, '#1d4ed8'],
          ['skipped', v.skipped, '#b45309'],
          ['failed', v.failed, '#b42318'],
        ] as const
      ).map(([k, n, color]) => (
        <Col xs={12} md={6} key={k}>
          <Card size="small" style={{ borderTop: `3px solid ${color}` }}>
            <Statistic title={t(k + '_n')} value={n} formatter={(x) => f.number(Number(x))} data-testid={`count-${k}`} />
          </Card>
        </Col>
      ))}
    </Row>
  );
  const report = (v.failed > 0 || v.skipped > 0) && (
    <Button icon={<DownloadOutlined />} href={v.errors_url} data-testid="import-report">{t('report')}</Button>
  );
  if (finished && v.status !== 'reverting') {
    return (
      <div data-testid="import-progress">
        <Result
          style={{ padding: '8px 0 24px' }}
          status={v.status === 'completed' ? 'success' : v.status === 'failed' ? 'error' : v.status === 'canceled' ? 'warning' : 'info'}
          title={<span data-testid="import-status">{t('done_' + v.status)}</span>}
          subTitle={v.status === 'reverted' ? t('revertedSub') : `${v.filename} · ${t('doneSub', { total: f.number(v.total) })}`}
          extra={
            <Space wrap style={{ justifyContent: 'center' }}>
              <Link to={`/t/${tenant.slug}/customers`}><Button type="primary">{t('viewCustomers')}</Button></Link>
              {report}
              {v.status !== 'reverted' && v.created + v.updated > 0 && (
                <Popconfirm title={t('revertConfirm')} onConfirm={() => act('revert')}>
                  <Button danger>{t('revert')}</Button>
                </Popconfirm>
              )}
              <Link to={`/t/${tenant.slug}/imports/new`}><Button>{t('another')}</Button></Link>
            </Space>
          }
        />
        <Progress percent={100} status={v.status === 'completed' ? 'success' : v.status === 'failed' ? 'exception' : 'normal'} data-testid="import-bar" aria-label={t('step_run')} />
        {v.error && <Alert type="error" showIcon message={v.error} style={{ margin: '12px 0' }} />}
        <div style={{ marginTop: 16 }}>{counts}</div>
      </div>
    );
  }
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="middle" data-testid="import-progress">
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Space>
          <b>{v.filename}</b>
          <Tag color={STATUS_COLOR[v.status]}>{t('status_' + v.status)}</Tag>
        </Space>
        {['queued', 'running'].includes(v.status) && (
          <Popconfirm title={t('cancelConfirm')} onConfirm={() => act('cancel')}>
            <Button danger>{t('cancel')}</Button>
          </Popconfirm>
        )}
      </Space>
      <Progress percent={pct} status="active" strokeWidth={14} data-testid="import-bar" aria-label={t('step_run')} />
      <Typography.Text type="secondary" aria-live="polite" data-testid="import-rate">
        {v.status === 'queued'
          ? t('waiting')
          : reverting
            ? t('reverting', { done: f.number(v.reverted), total: f.number(v.created + v.updated) })
            : [
                t('processed', { done: f.number(v.processed), total: f.number(v.total) }),
                v.rows_per_second > 0 && t('rate', { rate: f.number(Math.round(v.rows_per_second)) }),
                v.eta_seconds !== undefined && v.eta_seconds !== null && v.status === 'running' && t('eta', { t: formatEta(v.eta_seconds, i18n.language) }),
              ].filter(Boolean).join(' · ')}
      </Typography.Text>
      {counts}
      {v.status === 'running' && report}
    </Space>
  );
}
