// Custom fields of one entity (picked among those the modules declare): list, create, edit (labels in
// English and Chinese, type, options with their labels, behaviour, default, help),
// archive and restore, reorder by dragging a row (or the arrows, from the
// keyboard), and a live preview of the form as the team will see it.
import './locales';
import { useState, type CSSProperties, type HTMLAttributes } from 'react';
import { DndContext, PointerSensor, closestCenter, useSensor, useSensors, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, arrayMove, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Checkbox, Col, Drawer, Form, Input, InputNumber, List, Popconfirm, Popover, Row, Segmented, Select, Space, Switch, Table, Tag, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, HolderOutlined, LockOutlined, PlusOutlined, WarningOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router-dom';
import { del, errorMessage, get, patch, post, tpath } from '../../app/api';
import { P, useCan } from '../../app/access';
import { useTenant } from '../../app/session';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { FieldInput } from '../customers/FieldInput';
import { type FieldDef, FIELD_TYPES, changedNames, fieldLabel, helpText } from '../customers/fields';
import { placeErrors } from '../customers/form';
import '../customers/locales';
import { CHOICE_TYPES, type FieldEntity, definitionBody, entityLabel, flagsAllowed, slugKey } from './definition';

const FLAGS = ['required', 'unique', 'filterable', 'sortable', 'sensitive'] as const;

export default function FieldsPage() {
  const { t, i18n } = useTranslation(['fields', 'common']);
  const tenant = useTenant();
  const nav = useNavigate();
  const entity = useParams().entity ?? 'customers';
  const qc = useQueryClient();
  const { message } = App.useApp();
  const manage = useCan(P.fieldsManage);
  const [archived, setArchived] = useState(false);
  const [editing, setEditing] = useState<FieldDef | 'new' | null>(null);
  const base = `/fields/${entity}`;
  const entities = useQuery({
    queryKey: ['tenant', tenant.slug, 'fields', 'entities'],
    queryFn: () => get<{ items: FieldEntity[] }>(tpath(tenant.slug, '/fields')),
    staleTime: 5 * 60_000,
  });
  const entityOptions = (entities.data?.items ?? [{ name: entity, label_en: t('entity_' + entity, entity), label_zh: t('entity_' + entity, entity) }])
    .map((e) => ({ value: e.name, label: entityLabel(e, i18n.language) }));
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'fields', entity, 'admin', archived],
    queryFn: () => get<{ items: FieldDef[] }>(tpath(tenant.slug, base), { archived }),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'fields'] });
  const act = useMutation({
    mutationFn: (x: { run: () => Promise<unknown>; ok?: string }) => x.run(),
    onSuccess: (_r, x) => {
      refresh();
      if (x.ok) message.success(x.ok);
    },
    onError: (e) => {
      message.error(errorMessage(e));
      refresh();
    },
  });
  const all = q.data?.items ?? [];
  const items = archived ? all : all.filter((d) => !d.archived_at);
  const live = all.filter((d) => !d.archived_at);
  // Dragging a row (or the arrows from the keyboard) gives every field whose place changed its new position.
  const reorder = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to || from < 0) return;
    const next = arrayMove(items, from, to);
    qc.setQueryData(['tenant', tenant.slug, 'fields', entity, 'admin', archived], { items: next });
    act.mutate({
      run: async () => {
        for (const [i, d] of next.entries()) {
          if (d.position !== i) await patch(tpath(tenant.slug, `${base}/${d.key}`), { position: i });
        }
      },
    });
  };
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 6 } }));
  const onDragEnd = (e: DragEndEvent) => {
    if (!e.over) return;
    reorder(items.findIndex((x) => x.key === e.active.id), items.findIndex((x) => x.key === e.over!.id));
  };
  return (
    <div>
      <PageHeader
        title={t('title')}
        subtitle={t('subtitle')}
        extra={
          manage && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="add-field">
              {t('add')}
            </Button>
          )
        }
      />
      {!manage && <Alert type="info" showIcon message={t('readOnly')} style={{ marginBottom: 16 }} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={15}>
          <Card
            title={
              <Space>
                <label htmlFor="field-entity">{t('entity')}</label>
                {entityOptions.length > 4 ? (
                  <Select id="field-entity" value={entity} style={{ minWidth: 180 }} onChange={(v) => nav(`/t/${tenant.slug}/fields/${v}`)} options={entityOptions} data-testid="field-entity" />
                ) : (
                  <Segmented id="field-entity" value={entity} onChange={(v) => nav(`/t/${tenant.slug}/fields/${v}`)} options={entityOptions} data-testid="field-entity" />
                )}
              </Space>
            }
            extra={
              <Space>
                <Switch size="small" checked={archived} onChange={setArchived} id="show-archived" />
                <label htmlFor="show-archived">{t('showArchived')}</label>
              </Space>
            }
            styles={{ body: { padding: 0 } }}
          >
            {q.error ? (
              <ErrorState error={q.error} onRetry={() => q.refetch()} />
            ) : (
              <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd}>
                <SortableContext items={items.map((d) => d.key)} strategy={verticalListSortingStrategy} disabled={!manage}>
                  <Table<FieldDef>
                    rowKey="key"
                    components={{ body: { row: DragRow } }}
                    loading={q.isPending}
                    dataSource={items}
                    pagination={false}
                    data-testid="fields-table"
                    locale={{ emptyText: <EmptyState text={t('empty')}>{manage && <Button type="primary" onClick={() => setEditing('new')}>{t('add')}</Button>}</EmptyState> }}
                    columns={[
                      { key: 'drag', width: 36, render: () => <HolderOutlined aria-hidden style={{ color: 'var(--c-text-2)', cursor: manage ? 'grab' : undefined }} /> },
                      {
                        title: t('field'),
                        render: (_, d) => (
                          <Space direction="vertical" size={0}>
                            <Button type="link" style={{ padding: 0, height: 'auto', fontWeight: 500 }} onClick={() => setEditing(d)}>
                              {fieldLabel(d, i18n.language)}
                            </Button>
                            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                              <code>custom.{d.key}</code>
                              {i18n.language === 'zh' ? (d.label_en ? ` · ${d.label_en}` : '') : d.label_zh ? ` · ${d.label_zh}` : ''}
                            </Typography.Text>
                          </Space>
                        ),
                      },
                      { title: t('type'), render: (_, d) => <Tag bordered={false} color="geekblue">{t('type_' + d.type)}</Tag> },
                      {
                        title: t('flags'),
                        render: (_, d) => (
                          <Space size={[4, 4]} wrap>
                            {d.required && <Tag color="blue">{t('required')}</Tag>}
                            {d.unique && <Tag color="purple">{t('unique')}</Tag>}
                            {d.filterable && <Tag>{t('filterable')}</Tag>}
                            {d.sortable && <Tag>{t('sortable')}</Tag>}
                            {d.sensitive && <Tag color="red" icon={<LockOutlined />}>{t('sensitive')}</Tag>}
                            {d.archived_at && <Tag color="default">{t('archived')}</Tag>}
                            {d.pending && <Conversion def={d} entity={entity} />}
                          </Space>
                        ),
                      },
                      {
                        key: 'actions',
                        align: 'right',
                        render: (_, d, i) =>
                          manage && (
                            <Space size={4}>
                              {!d.archived_at && (
                                <>
                                  <Tooltip title={t('up')}>
                                    <Button size="small" type="text" icon={<ArrowUpOutlined />} aria-label={`${t('up')}: ${fieldLabel(d, i18n.language)}`} disabled={i === 0} onClick={() => reorder(i, i - 1)} />
                                  </Tooltip>
                                  <Tooltip title={t('down')}>
                                    <Button size="small" type="text" icon={<ArrowDownOutlined />} aria-label={`${t('down')}: ${fieldLabel(d, i18n.language)}`} disabled={i === items.length - 1} onClick={() => reorder(i, i + 1)} />
                                  </Tooltip>
                                </>
                              )}
                              {d.archived_at ? (
                                <Button size="small" onClick={() => act.mutate({ run: () => post(tpath(tenant.slug, `${base}/${d.key}/restore`)), ok: t('restoredOk') })}>
                                  {t('common:action.restore')}
                                </Button>
                              ) : (
                                <Popconfirm title={t('archiveConfirm', { name: fieldLabel(d, i18n.language) })}
                                  onConfirm={() => act.mutate({ run: () => del(tpath(tenant.slug, `${base}/${d.key}`)), ok: t('archivedOk') })}>
                                  <Button size="small" danger type="text" aria-label={`${t('common:action.archive')}: ${fieldLabel(d, i18n.language)}`}>{t('common:action.archive')}</Button>
                                </Popconfirm>
                              )}
                            </Space>
                          ),
                      },
                    ]}
                  />
                </SortableContext>
              </DndContext>
            )}
          </Card>
        </Col>
        <Col xs={24} xl={9}>
          <Card title={t('formPreview')} style={{ position: 'sticky', top: 16 }} data-testid="form-preview">
            <Typography.Paragraph type="secondary">{t('formPreviewHelp')}</Typography.Paragraph>
            <PreviewForm defs={live} />
          </Card>
        </Col>
      </Row>
      {editing && (
        <FieldDrawer entity={entity} def={editing === 'new' ? null : editing} position={live.length} readOnly={!manage}
          onClose={() => setEditing(null)} onSaved={refresh} />
      )}
    </div>
  );
}

/** PreviewForm renders fields as the customer form shows them, with their help and required marks. */
function PreviewForm({ defs, highlight }: { defs: FieldDef[]; highlight?: string }) {
  const { t, i18n } = useTranslation(['customers']);
  return (
    <Form layout="vertical" component="div" aria-label={t('fields:formPreview')}>
      <Form.Item label={t('customers:name')} required htmlFor="preview-name">
        <Input placeholder="张伟" id="preview-name" />
      </Form.Item>
      {defs.map((d) => (
        <Form.Item key={d.key} label={fieldLabel(d, i18n.language)} required={d.required} extra={helpText(d, i18n.language)} htmlFor={`preview-${d.key}`}
          style={highlight === d.key ? { background: 'var(--c-brand-soft)', margin: '0 -8px 24px', padding: '4px 8px', borderRadius: 6 } : undefined}>
          <PreviewInput def={d} />
        </Form.Item>
      ))}
    </Form>
  );
}

function PreviewInput({ def }: { def: FieldDef }) {
  const [v, setV] = useState<unknown>(def.default ?? undefined);
  return <FieldInput def={def} value={v} onChange={setV} id={`preview-${def.key}`} />;
}

function Conversion({ def, entity }: { def: FieldDef; entity: string }) {
  const { t } = useTranslation('fields');
  const tenant = useTenant();
  const [open, setOpen] = useState(false);
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'fields', entity, def.key, 'failures'],
    queryFn: () => get<{ items: { record_id: string; value: string; reason: string }[] }>(tpath(tenant.slug, `/fields/${entity}/${def.key}/conversion-failures`)),
    enabled: open,
    refetchInterval: open ? 3000 : false,
  });
  return (
    <Popover open={open} onOpenChange={setOpen} trigger="click" title={t('conversionFailures')}
      content={
        <List size="small" style={{ maxWidth: 420, maxHeight: 300, overflow: 'auto' }} loading={q.isPending} dataSource={q.data?.items ?? []}
          renderItem={(x) => (
            <List.Item>
              <Space direction="vertical" size={0}>
                {entity === 'customers' ? <a href={`/t/${tenant.slug}/customers/${x.record_id}`}><code>{x.value}</code></a> : <code>{x.value}</code>}
                <Typography.Text type="secondary">{x.reason}</Typography.Text>
              </Space>
            </List.Item>
          )} />
      }>
      <Tag color="orange" icon={<WarningOutlined />} style={{ cursor: 'pointer' }}>{t('converting', { type: t('type_' + (def.pending?.to?.type ?? def.type)) })}</Tag>
    </Popover>
  );
}

function FieldDrawer({ entity, def, position, readOnly, onClose, onSaved }: { entity: string; def: FieldDef | null; position: number; readOnly: boolean; onClose: () => void; onSaved: () => void }) {
  const { t, i18n } = useTranslation(['fields', 'common']);
  const tenant = useTenant();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [rest, setRest] = useState<string[]>([]);
  const [keyTouched, setKeyTouched] = useState(!!def);
  const values = (Form.useWatch([], form) ?? {}) as Record<string, unknown>;
  const type = String(values.type ?? def?.type ?? 'text');
  const allowed = flagsAllowed(type, !!values.sensitive);
  const save = useMutation({
    mutationFn: (v: Record<string, unknown>) =>
      def
        ? patch(tpath(tenant.slug, `/fields/${entity}/${def.key}`), definitionBody(v, 'edit', def))
        : post(tpath(tenant.slug, `/fields/${entity}`), { ...definitionBody(v, 'create'), position }),
    onSuccess: () => {
      message.success(t('saved'));
      onSaved();
      onClose();
    },
    onError: (e, v) => {
      const r = placeErrors(e, (k) => ['label_en', 'label_zh', 'key', 'type', 'options', 'default', 'max', 'help_en', 'help_zh', ...FLAGS].includes(k), v);
      form.setFields(r.fields);
      setRest(r.rest);
    },
  });
  const preview: FieldDef = {
    key: String(values.key || 'preview'),
    label_en: String(values.label_en || t('preview')),
    label_zh: values.label_zh as string,
    type,
    options: ((values.options as FieldDef['options']) ?? []).filter((o) => o?.value),
    required: !!values.required,
    sensitive: !!values.sensitive,
    max: values.max as number,
    help_en: values.help_en as string,
    help_zh: values.help_zh as string,
    default: values.default,
  };
  const defaultDef: FieldDef = { ...preview, required: false, sensitive: false };
  return (
    <Drawer open width={600} title={def ? `${t('edit')}: ${fieldLabel(def, i18n.language)}` : t('add')} onClose={onClose} destroyOnHidden
      extra={
        !readOnly && (
          <Space>
            <Button onClick={onClose}>{t('common:action.cancel')}</Button>
            <Button type="primary" loading={save.isPending} onClick={() => form.submit()} data-testid="save-field">{t('common:action.save')}</Button>
          </Space>
        )
      }>
      {rest.map((r) => <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 12 }} />)}
      <Form
        form={form}
        layout="vertical"
        disabled={readOnly}
        data-testid="field-form"
        onValuesChange={(ch) => {
          form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })));
          if ('label_en' in ch && !keyTouched) form.setFieldValue('key', slugKey(String(ch.label_en ?? '')));
          if ('key' in ch) setKeyTouched(true);
          if ('type' in ch) form.setFieldValue('default', undefined);
        }}
        initialValues={def ? { ...def, options: def.options ?? [] } : { type: 'text', filterable: true, options: [] }}
        onFinish={(v) => {
          setRest([]);
          save.mutate(v);
        }}
      >
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item name="label_en" label={t('labelEn')} rules={[{ required: true, whitespace: true }]}>
              <Input maxLength={200} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="label_zh" label={t('labelZh')}>
              <Input maxLength={200} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="key" label={t('key')} extra={t('keyHelp')} rules={[{ required: !def, pattern: /^[a-z][a-z0-9_]{0,62}$/ }]}>
              <Input disabled={!!def} prefix={<Typography.Text type="secondary">custom.</Typography.Text>} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="type" label={t('type')} extra={def ? t('typeChange') : undefined}>
              <Select showSearch={{ optionFilterProp: 'label' }} options={FIELD_TYPES.map((ty) => ({ value: ty, label: t('type_' + ty) }))} />
            </Form.Item>
          </Col>
        </Row>
        {CHOICE_TYPES.includes(type) && <OptionsEditor />}
        {type === 'rating' && (
          <Form.Item name="max" label={t('maxStars')} initialValue={5}>
            <InputNumber min={2} max={10} />
          </Form.Item>
        )}
        <Form.Item label={t('flags')} required={false}>
          <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '8px 16px' }}>
            {FLAGS.map((k) => (
              <Form.Item key={k} name={k} valuePropName="checked" noStyle>
                <Checkbox disabled={readOnly || (k !== 'required' && !allowed[k])}>
                  <span>{t(k)}</span>
                  <div style={{ fontSize: 12, color: 'var(--c-text-2)' }}>{t(k + '_help')}</div>
                </Checkbox>
              </Form.Item>
            ))}
          </div>
        </Form.Item>
        <Form.Item name="default" label={t('defaultValue')} extra={t('defaultHelp')} hidden={!!values.unique || !!values.sensitive}>
          <FieldInput def={defaultDef} />
        </Form.Item>
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item name="help_en" label={t('helpEn')}>
              <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} maxLength={1000} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="help_zh" label={t('helpZh')}>
              <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} maxLength={1000} />
            </Form.Item>
          </Col>
        </Row>
      </Form>
      <Card size="small" title={t('preview')} style={{ marginTop: 8, background: 'var(--c-surface-2)' }} data-testid="field-preview">
        <Form layout="vertical" component="div">
          <Form.Item label={fieldLabel(preview, i18n.language)} required={preview.required} extra={helpText(preview, i18n.language)} style={{ marginBottom: 0 }}>
            <PreviewInput key={`${type}-${JSON.stringify(preview.options)}-${preview.max}`} def={preview} />
          </Form.Item>
        </Form>
      </Card>
    </Drawer>
  );
}

function OptionsEditor() {
  const { t } = useTranslation('fields');
  return (
    <Form.List name="options" rules={[{ validator: async (_, v) => { if (!v || !v.filter((o: { value?: string }) => o?.value?.trim()).length) throw new Error(t('optionsNeeded')); } }]}>
      {(fields, { add, remove, move }, { errors }) => (
        <fieldset style={{ border: '1px solid var(--c-border)', borderRadius: 8, padding: '8px 12px 4px', marginBottom: 24 }}>
          <legend style={{ fontSize: 14, padding: '0 6px', width: 'auto', marginBottom: 0, border: 0 }}>{t('options')}</legend>
          {fields.map((f, i) => (
            <Space key={f.key} align="start" style={{ display: 'flex' }} size={6}>
              <Form.Item name={[f.name, 'value']} rules={[{ required: true, whitespace: true, message: t('optionValue') }]} style={{ marginBottom: 8 }}>
                <Input placeholder={t('optionValue')} aria-label={`${t('optionValue')} ${i + 1}`} style={{ width: 130 }} maxLength={100} />
              </Form.Item>
              <Form.Item name={[f.name, 'label_en']} style={{ marginBottom: 8 }}>
                <Input placeholder={t('optionEn')} aria-label={`${t('optionEn')} ${i + 1}`} style={{ width: 130 }} />
              </Form.Item>
              <Form.Item name={[f.name, 'label_zh']} style={{ marginBottom: 8 }}>
                <Input placeholder={t('optionZh')} aria-label={`${t('optionZh')} ${i + 1}`} style={{ width: 110 }} />
              </Form.Item>
              <Button type="text" icon={<ArrowUpOutlined />} disabled={i === 0} onClick={() => move(i, i - 1)} aria-label={`${t('up')} ${i + 1}`} />
              <Button type="text" icon={<DeleteOutlined />} onClick={() => remove(f.name)} aria-label={`${t('removeOption')} ${i + 1}`} />
            </Space>
          ))}
          <Form.ErrorList errors={errors} />
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ value: '' })} style={{ marginBottom: 8 }} data-testid="add-option">{t('addOption')}</Button>
        </fieldset>
      )}
    </Form.List>
  );
}

function DragRow(props: HTMLAttributes<HTMLTableRowElement> & { 'data-row-key'?: string }) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: props['data-row-key'] ?? '' });
  const style: CSSProperties = {
    ...props.style,
    transform: CSS.Translate.toString(transform),
    transition,
    ...(isDragging ? { position: 'relative', zIndex: 9, background: 'var(--c-brand-soft)', boxShadow: '0 4px 12px rgba(0,0,0,.12)' } : {}),
  };
  // The row is the drag handle for the pointer; from the keyboard, the arrows move it.
  const { role: _role, tabIndex: _tab, ...attrs } = attributes;
  void _role;
  void _tab;
  return <tr {...props} ref={setNodeRef} style={style} {...attrs} {...listeners} />;
}
