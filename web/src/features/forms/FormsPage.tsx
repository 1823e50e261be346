// Web-to-lead forms: the list, the builder with its live preview, the
// snippet to copy, and each form's submissions.
import './locales';
import { useMemo, useState } from 'react';
import { Alert, App, Button, Card, Checkbox, Col, Divider, Drawer, Dropdown, Form, Input, Modal, Row, Segmented, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { CopyOutlined, DeleteOutlined, FormOutlined, MoreOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { del, errorMessage, formErrors, get, post, put, tpath } from '../../app/api';
import { useMe, useTenant } from '../../app/session';
import { useTenantSettings } from '../../app/tenantSettings';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { MemberSelect } from '../customers/MemberSelect';
import type { Pipeline } from '../funnel/board';
import { UTM_KEYS, pick, preview, type AvailableField, type LeadForm, type LeadFormInput, type Submission } from './api';
import { LeadFormView } from './LeadFormView';

function useCopy() {
  const { message } = App.useApp();
  const { t } = useTranslation('common');
  return async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      message.success(t('action.copied'));
    } catch {
      message.info(text.slice(0, 80));
    }
  };
}

export default function FormsPage() {
  const { t } = useTranslation('forms');
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message, modal } = App.useApp();
  const key = ['tenant', tenant.slug, 'lead-forms'];
  const forms = useQuery<LeadForm[], Error>({ queryKey: key, queryFn: async () => (await get<{ items: LeadForm[] }>(tpath(tenant.slug, '/lead-forms'))).items });
  const [editing, setEditing] = useState<LeadForm | 'new' | null>(null);
  const [embed, setEmbed] = useState<LeadForm | null>(null);
  const [subs, setSubs] = useState<LeadForm | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  const act = useMutation({
    mutationFn: async ({ id, what }: { id: string; what: 'enable' | 'disable' | 'rotate-token' | 'delete' }) => {
      const p = tpath(tenant.slug, `/lead-forms/${id}`);
      if (what === 'delete') await del(p);
      else await post(`${p}/${what}`);
    },
    onSuccess: refresh,
    onError: (e) => message.error(errorMessage(e)),
  });
  if (forms.error) return <ErrorState error={forms.error} onRetry={() => forms.refetch()} />;
  return (
    <div data-testid="lead-forms-page">
      <PageHeader
        title={t('title')}
        subtitle={t('subtitle')}
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="lead-form-create">
            {t('create')}
          </Button>
        }
      />
      <Card>
        <Table<LeadForm>
          rowKey="id"
          loading={forms.isPending}
          dataSource={forms.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: <EmptyState text={t('empty')} /> }}
          columns={[
            {
              title: t('name'),
              dataIndex: 'name',
              render: (n: string, r) => (
                <Button type="link" style={{ padding: 0 }} onClick={() => setEditing(r)} data-testid="lead-form-edit">
                  {n}
                </Button>
              ),
            },
            { title: t('status'), dataIndex: 'enabled', render: (on: boolean) => (on ? <Tag color="green">{t('on')}</Tag> : <Tag color="red">{t('off')}</Tag>) },
            {
              title: t('submissions'),
              dataIndex: 'submissions',
              render: (n: number, r) => (
                <Button size="small" onClick={() => setSubs(r)} data-testid="lead-form-submissions">
                  {f.number(n)}
                </Button>
              ),
            },
            { title: t('changed'), dataIndex: 'updated_at', render: (v: string) => f.date(v) },
            {
              title: '',
              key: 'actions',
              render: (_, r) => (
                <Space>
                  <Button size="small" icon={<CopyOutlined />} onClick={() => setEmbed(r)} data-testid="lead-form-embed">
                    {t('snippet')}
                  </Button>
                  <Dropdown
                    trigger={['click']}
                    menu={{
                      items: [
                        { key: 'toggle', label: r.enabled ? t('switchOff') : t('switchOn') },
                        { key: 'rotate', label: t('rotate') },
                        { type: 'divider' },
                        { key: 'delete', label: t('delete'), danger: true },
                      ],
                      onClick: ({ key: k }) => {
                        if (k === 'toggle') act.mutate({ id: r.id, what: r.enabled ? 'disable' : 'enable' });
                        if (k === 'rotate') modal.confirm({ title: t('rotate'), content: t('rotateConfirm'), onOk: () => act.mutate({ id: r.id, what: 'rotate-token' }) });
                        if (k === 'delete') modal.confirm({ title: t('delete'), content: t('deleteConfirm', { name: r.name }), okButtonProps: { danger: true }, onOk: () => act.mutate({ id: r.id, what: 'delete' }) });
                      },
                    }}
                  >
                    <Button size="small" icon={<MoreOutlined />} aria-label={t('more')} />
                  </Dropdown>
                </Space>
              ),
            },
          ]}
        />
      </Card>
      {editing && (
        <Builder
          initial={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            refresh();
            message.success(t('saved'));
            if (!editing || editing === 'new') setEmbed(saved);
          }}
        />
      )}
      <EmbedModal form={embed} onClose={() => setEmbed(null)} />
      {subs && <Submissions form={subs} onClose={() => setSubs(null)} />}
    </div>
  );
}

function EmbedModal({ form, onClose }: { form: LeadForm | null; onClose: () => void }) {
  const { t } = useTranslation('forms');
  const copy = useCopy();
  return (
    <Modal open={!!form} title={form ? t('snippetTitle', { name: form.name }) : ''} onCancel={onClose} footer={<Button onClick={onClose}>{t('common:action.close')}</Button>} width={720} destroyOnHidden>
      {form && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Typography.Text type="secondary">{t('snippetHelp')}</Typography.Text>
          <Input.TextArea readOnly value={form.snippet} autoSize={{ minRows: 5, maxRows: 10 }} style={{ fontFamily: 'monospace', fontSize: 12 }} data-testid="lead-form-snippet" aria-label={t('snippet')} />
          <Button icon={<CopyOutlined />} onClick={() => copy(form.snippet)}>
            {t('copy')}
          </Button>
          <Typography.Text type="secondary">{t('hostedHelp')}</Typography.Text>
          <Space.Compact style={{ width: '100%' }}>
            <Input readOnly value={form.hosted_url} aria-label={t('hostedLink')} data-testid="lead-form-hosted" />
            <Button icon={<CopyOutlined />} onClick={() => copy(form.hosted_url)} aria-label={t('copy')} />
            <Button href={form.hosted_url} target="_blank" rel="noopener">
              {t('open')}
            </Button>
          </Space.Compact>
        </Space>
      )}
    </Modal>
  );
}

type BuilderValues = LeadFormInput & { deal?: string };

function Builder({ initial, onClose, onSaved }: { initial: LeadForm | null; onClose: () => void; onSaved: (f: LeadForm) => void }) {
  const { t, i18n } = useTranslation('forms');
  const tenant = useTenant();
  const settings = useTenantSettings(tenant.slug);
  const me = useMe().data;
  const [form] = Form.useForm<BuilderValues>();
  const values = Form.useWatch([], form);
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  const [lang, setLang] = useState<'en' | 'zh-CN'>(i18n.language.startsWith('zh') ? 'zh-CN' : 'en');
  const available = useQuery<AvailableField[], Error>({
    queryKey: ['tenant', tenant.slug, 'lead-form-fields'],
    queryFn: async () => (await get<{ items: AvailableField[] }>(tpath(tenant.slug, '/lead-form-fields'))).items,
  });
  const funnelOn = settings.data?.modules?.funnel !== false;
  const pipelines = useQuery({
    queryKey: ['tenant', tenant.slug, 'pipelines'],
    queryFn: async () => (await get<{ items: Pipeline[] }>(tpath(tenant.slug, '/pipelines'))).items,
    enabled: funnelOn,
  });
  const zh = i18n.language.startsWith('zh');
  const stageOptions = [
    { value: '', label: t('dealNone') },
    ...(pipelines.data ?? []).map((p) => ({
      label: zh ? p.name_zh || p.name_en : p.name_en,
      title: p.id,
      options: p.stages.filter((s) => s.kind === 'open').map((s) => ({ value: `${p.id}:${s.id}`, label: `${zh ? p.name_zh || p.name_en : p.name_en} · ${zh ? s.name_zh || s.name_en : s.name_en}` })),
    })),
  ];
  const fieldOptions = (available.data ?? []).map((a) => ({ value: a.key, label: `${pick(zh ? 'zh-CN' : 'en', a.label_en, a.label_zh)}${a.custom ? ` (${t('custom')})` : ''}` }));
  const initialValues: BuilderValues = initial
    ? { ...initial, deal: initial.pipeline_id && initial.stage_id ? `${initial.pipeline_id}:${initial.stage_id}` : '' }
    : {
        name: '',
        fields: [{ key: 'name', required: true }, { key: 'email', required: true }, { key: 'phone' }, { key: 'message' }],
        title_en: '',
        title_zh: '',
        consent: false,
        consent_en: '',
        consent_zh: '',
        thanks_en: '',
        thanks_zh: '',
        redirect_url: '',
        create_task: true,
        task_title: '',
        owner_id: me?.identity.id,
        deal: '',
      };
  const shown = useMemo(
    () => preview(values ?? initialValues, available.data ?? [], lang, tenant.name ?? tenant.slug, lang === 'zh-CN' ? { title: '联系我们', submit: '提交' } : { title: 'Get in touch', submit: 'Send' }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [values, available.data, lang],
  );
  async function submit(v: BuilderValues) {
    setBusy(true);
    setRest([]);
    const { deal, ...body } = v;
    const [pipeline_id, stage_id] = deal ? deal.split(':') : [];
    const payload: LeadFormInput = { ...body, fields: (body.fields ?? []).filter((x) => x?.key), owner_id: body.owner_id || undefined, pipeline_id, stage_id };
    try {
      const saved = initial ? await put<LeadForm>(tpath(tenant.slug, `/lead-forms/${initial.id}`), payload) : await post<LeadForm>(tpath(tenant.slug, '/lead-forms'), payload);
      onSaved(saved);
    } catch (e) {
      const { fields, rest } = formErrors(e);
      form.setFields(fields.map((x) => (x.name[0] === 'stage_id' || x.name[0] === 'pipeline_id' ? { ...x, name: ['deal'] } : x)) as Parameters<typeof form.setFields>[0]);
      setRest([...rest, ...fields.filter((x) => x.name.length === 1 && x.name[0] === 'fields').flatMap((x) => x.errors)]);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Drawer
      open
      width="min(1200px, 100vw)"
      title={
        <Space>
          <FormOutlined />
          {initial ? t('edit') : t('create')}
        </Space>
      }
      onClose={onClose}
      extra={
        <Button type="primary" loading={busy} onClick={() => form.submit()} data-testid="lead-form-save">
          {t('common:action.save')}
        </Button>
      }
      destroyOnHidden
    >
      {rest.map((m) => (
        <Alert key={m} type="error" showIcon message={m} style={{ marginBottom: 12 }} />
      ))}
      <Row gutter={24}>
        <Col xs={24} lg={13}>
          <Form form={form} layout="vertical" initialValues={initialValues} onFinish={submit} data-testid="lead-form-builder">
            <Form.Item name="name" label={t('name')} extra={t('nameHelp')} rules={[{ required: true, message: t('nameRequired') }]}>
              <Input maxLength={200} data-testid="lead-form-name" />
            </Form.Item>
            <Row gutter={12}>
              <Col span={12}>
                <Form.Item name="title_en" label={t('titleEn')}>
                  <Input maxLength={200} data-testid="lead-form-title-en" />
                </Form.Item>
              </Col>
              <Col span={12}>
                <Form.Item name="title_zh" label={t('titleZh')}>
                  <Input maxLength={200} data-testid="lead-form-title-zh" />
                </Form.Item>
              </Col>
            </Row>
            <Divider titlePlacement="start">{t('fields')}</Divider>
            <Typography.Paragraph type="secondary">{t('fieldsHelp')}</Typography.Paragraph>
            <Form.List name="fields">
              {(items, { add, remove }) => (
                <>
                  {items.map((it) => (
                    <Space key={it.key} align="baseline" wrap style={{ display: 'flex', marginBottom: 4 }} data-testid="lead-form-field-row">
                      <Form.Item name={[it.name, 'key']} rules={[{ required: true, message: t('field') }]} style={{ marginBottom: 8 }}>
                        <Select options={fieldOptions} style={{ width: 160 }} aria-label={t('field')} showSearch={{ optionFilterProp: 'label' }} data-testid="lead-form-field-key" />
                      </Form.Item>
                      <Form.Item name={[it.name, 'label_en']} style={{ marginBottom: 8 }}>
                        <Input placeholder={t('labelEn')} aria-label={t('labelEn')} maxLength={200} style={{ width: 130 }} />
                      </Form.Item>
                      <Form.Item name={[it.name, 'label_zh']} style={{ marginBottom: 8 }}>
                        <Input placeholder={t('labelZh')} aria-label={t('labelZh')} maxLength={200} style={{ width: 130 }} />
                      </Form.Item>
                      <Form.Item name={[it.name, 'required']} valuePropName="checked" style={{ marginBottom: 8 }}>
                        <Checkbox>{t('required')}</Checkbox>
                      </Form.Item>
                      <Button type="text" icon={<DeleteOutlined />} onClick={() => remove(it.name)} aria-label={t('removeField')} />
                    </Space>
                  ))}
                  <Button icon={<PlusOutlined />} onClick={() => add({ key: undefined, required: false })} disabled={items.length >= 30} data-testid="lead-form-add-field">
                    {t('addField')}
                  </Button>
                </>
              )}
            </Form.List>
            <Divider titlePlacement="start">{t('consent')}</Divider>
            <Form.Item name="consent" valuePropName="checked" label={t('consent')} extra={t('consentHelp')}>
              <Switch data-testid="lead-form-consent" />
            </Form.Item>
            {values?.consent && (
              <Row gutter={12}>
                <Col span={12}>
                  <Form.Item name="consent_en" label={t('consentEn')} rules={[{ required: true }]}>
                    <Input.TextArea rows={2} maxLength={2000} data-testid="lead-form-consent-en" />
                  </Form.Item>
                </Col>
                <Col span={12}>
                  <Form.Item name="consent_zh" label={t('consentZh')} rules={[{ required: true }]}>
                    <Input.TextArea rows={2} maxLength={2000} data-testid="lead-form-consent-zh" />
                  </Form.Item>
                </Col>
              </Row>
            )}
            <Row gutter={12}>
              <Col span={12}>
                <Form.Item name="thanks_en" label={t('thanksEn')}>
                  <Input.TextArea rows={2} maxLength={2000} />
                </Form.Item>
              </Col>
              <Col span={12}>
                <Form.Item name="thanks_zh" label={t('thanksZh')}>
                  <Input.TextArea rows={2} maxLength={2000} />
                </Form.Item>
              </Col>
            </Row>
            <Form.Item name="redirect_url" label={t('redirect')} extra={t('redirectHelp')}>
              <Input inputMode="url" maxLength={2048} placeholder="https://example.com/thanks" />
            </Form.Item>
            <Divider titlePlacement="start">{t('actions')}</Divider>
            <Form.Item name="owner_id" label={t('owner')} extra={t('ownerHelp')}>
              <MemberSelect aria-label={t('owner')} />
            </Form.Item>
            <Form.Item name="create_task" valuePropName="checked">
              <Checkbox data-testid="lead-form-task">{t('createTask')}</Checkbox>
            </Form.Item>
            {values?.create_task && (
              <Form.Item name="task_title" label={t('taskTitle')} extra={t('taskTitleHelp')}>
                <Input maxLength={300} />
              </Form.Item>
            )}
            {funnelOn && (
              <Form.Item name="deal" label={t('deal')}>
                <Select options={stageOptions} loading={pipelines.isPending} aria-label={t('deal')} data-testid="lead-form-deal" />
              </Form.Item>
            )}
          </Form>
        </Col>
        <Col xs={24} lg={11}>
          <Card
            size="small"
            title={t('preview')}
            extra={<Segmented size="small" value={lang} onChange={(v) => setLang(v as 'en' | 'zh-CN')} options={[{ value: 'en', label: 'English' }, { value: 'zh-CN', label: '中文' }]} aria-label={t('previewLang')} />}
            style={{ position: 'sticky', top: 0 }}
            data-testid="lead-form-preview"
          >
            <Typography.Paragraph strong style={{ fontSize: 18 }}>
              {shown.title}
            </Typography.Paragraph>
            <LeadFormView data={shown} disabled />
          </Card>
        </Col>
      </Row>
    </Drawer>
  );
}

function Submissions({ form, onClose }: { form: LeadForm; onClose: () => void }) {
  const { t } = useTranslation('forms');
  const tenant = useTenant();
  const f = useFormat();
  const [cursor, setCursor] = useState<string[]>(['']);
  const at = cursor[cursor.length - 1];
  const subs = useQuery<{ items: Submission[]; next_cursor?: string }, Error>({
    queryKey: ['tenant', tenant.slug, 'lead-forms', form.id, 'submissions', at],
    queryFn: () => get(tpath(tenant.slug, `/lead-forms/${form.id}/submissions`), at ? { cursor: at } : undefined),
  });
  return (
    <Drawer open width="min(1100px, 100vw)" title={t('submissionsOf', { name: form.name })} onClose={onClose} destroyOnHidden>
      {subs.error ? (
        <ErrorState error={subs.error} onRetry={() => subs.refetch()} />
      ) : (
        <Table<Submission>
          rowKey="id"
          loading={subs.isPending}
          dataSource={subs.data?.items}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: <EmptyState text={t('noSubmissions')} /> }}
          data-testid="lead-form-submissions-table"
          columns={[
            { title: t('received'), dataIndex: 'created_at', render: (v: string) => f.dateTime(v) },
            {
              title: t('customer'),
              key: 'customer',
              render: (_, s) => (
                <Space direction="vertical" size={0}>
                  <Link to={`/t/${tenant.slug}/customers/${s.customer_id}`} data-testid="lead-submission-customer">
                    {String(s.data.name ?? s.data.email ?? s.data.phone ?? s.customer_id)}
                  </Link>
                  {s.created_customer ? <Tag color="blue">{t('newLead')}</Tag> : <Tag>{t('matched')}</Tag>}
                </Space>
              ),
            },
            {
              title: t('values'),
              dataIndex: 'data',
              render: (d: Record<string, unknown>) => (
                <Space direction="vertical" size={0} style={{ maxWidth: 320 }}>
                  {Object.entries(d).map(([k, v]) => (
                    <Typography.Text key={k} ellipsis={{ tooltip: String(v) }} style={{ maxWidth: 320 }}>
                      <Typography.Text type="secondary">{k}: </Typography.Text>
                      {Array.isArray(v) ? v.join(', ') : String(v)}
                    </Typography.Text>
                  ))}
                </Space>
              ),
            },
            {
              title: t('campaign'),
              key: 'campaign',
              render: (_, s) => (
                <Space direction="vertical" size={0} style={{ maxWidth: 280 }}>
                  {s.source && (
                    <Typography.Text ellipsis={{ tooltip: s.source }} style={{ maxWidth: 280 }}>
                      {s.source}
                    </Typography.Text>
                  )}
                  {UTM_KEYS.filter((k) => s.utm?.[k]).map((k) => (
                    <Typography.Text key={k} type="secondary">
                      {k}={s.utm[k]}
                    </Typography.Text>
                  ))}
                </Space>
              ),
            },
            {
              title: t('consentGiven'),
              key: 'consent',
              render: (_, s) =>
                s.consent_at ? (
                  <Space direction="vertical" size={0} style={{ maxWidth: 240 }}>
                    <Typography.Text>{f.dateTime(s.consent_at)}</Typography.Text>
                    <Typography.Text type="secondary" ellipsis={{ tooltip: s.consent_text }} style={{ maxWidth: 240 }}>
                      {s.consent_text}
                    </Typography.Text>
                  </Space>
                ) : (
                  '—'
                ),
            },
            {
              title: t('made'),
              key: 'made',
              render: (_, s) => (
                <Space>
                  {s.task_id && <Tag color="purple">{t('task')}</Tag>}
                  {s.deal_id && <Tag color="gold">{t('dealMade')}</Tag>}
                </Space>
              ),
            },
          ]}
        />
      )}
      <Space style={{ marginTop: 12, display: cursor.length > 1 || subs.data?.next_cursor ? undefined : 'none' }}>
        <Button disabled={cursor.length < 2} onClick={() => setCursor((c) => c.slice(0, -1))}>
          ←
        </Button>
        <Button disabled={!subs.data?.next_cursor} onClick={() => setCursor((c) => [...c, subs.data!.next_cursor!])}>
          →
        </Button>
      </Space>
    </Drawer>
  );
}
