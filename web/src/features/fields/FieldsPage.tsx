// Custom fields of one entity (customers for now): list, create, edit labels and
// options, archive and restore, reorder with the arrows (position), and a live
// preview of the field as the customer form will show it.
import { useState, type CSSProperties, type HTMLAttributes } from 'react';
import { DndContext, PointerSensor, closestCenter, useSensor, useSensors, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, arrayMove, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Checkbox, Drawer, Form, Input, InputNumber, Select, Space, Switch, Table, Tag, Tooltip } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, patch, post, tpath } from '../../app/api';
import { registerLocales } from '../../app/i18n';
import { useTenant } from '../../app/session';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { FieldInput } from '../customers/FieldInput';
import { fieldLabel, type FieldDef, FIELD_TYPES } from '../customers/fields';

registerLocales('fields', {
  en: {
    title: 'Custom fields',
    subtitle: 'Shape the customer record: fields appear on forms, in filters, lists and exports.',
    add: 'Add field',
    edit: 'Edit field',
    key: 'Key',
    keyHelp: 'Lowercase letters, digits and _; used in the API as custom.<key>',
    labelEn: 'Label (English)',
    labelZh: 'Label (Chinese)',
    type: 'Type',
    options: 'Options',
    optionsHelp: 'Type a choice and press Enter',
    flags: 'Behaviour',
    required: 'Required',
    unique: 'Unique',
    filterable: 'Filterable',
    sortable: 'Sortable',
    sensitive: 'Sensitive (encrypted, masked)',
    help: 'Help text',
    preview: 'Preview',
    archived: 'Archived',
    showArchived: 'Show archived',
    converting: 'Converting',
    saved: 'Saved',
    up: 'Move up',
    down: 'Move down',
    empty: 'No custom fields yet. Add one to capture what matters to your business.',
    typeChange: 'Changing the type converts existing values in the background; values that cannot be converted are listed for you.',
  },
  zh: {
    title: '自定义字段',
    subtitle: '定制客户档案：字段会出现在表单、筛选、列表和导出中。',
    add: '添加字段',
    edit: '编辑字段',
    key: '键名',
    keyHelp: '小写字母、数字和下划线；在 API 中为 custom.<键名>',
    labelEn: '名称（英文）',
    labelZh: '名称（中文）',
    type: '类型',
    options: '选项',
    optionsHelp: '输入选项后按回车',
    flags: '行为',
    required: '必填',
    unique: '唯一',
    filterable: '可筛选',
    sortable: '可排序',
    sensitive: '敏感（加密并遮盖）',
    help: '帮助说明',
    preview: '预览',
    archived: '已归档',
    showArchived: '显示已归档',
    converting: '转换中',
    saved: '已保存',
    up: '上移',
    down: '下移',
    empty: '还没有自定义字段。添加字段来记录对您的业务重要的信息。',
    typeChange: '更改类型会在后台转换已有的值；无法转换的值会列出来供您处理。',
  },
});

export default function FieldsPage() {
  const { t, i18n } = useTranslation(['fields', 'common']);
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [archived, setArchived] = useState(false);
  const [editing, setEditing] = useState<FieldDef | 'new' | null>(null);
  const key = ['tenant', tenant.slug, 'fields', 'customers', archived];
  const q = useQuery({ queryKey: key, queryFn: () => get<{ items: FieldDef[] }>(tpath(tenant.slug, '/fields/customers'), { archived }) });
  const refresh = () => qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'fields'] });
  const act = useMutation({
    mutationFn: (f: () => Promise<unknown>) => f(),
    onSuccess: () => {
      refresh();
      message.success(t('saved'));
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const items = q.data?.items ?? [];
  // Reorder by dragging a row, or with the arrows from the keyboard; every field
  // whose place changed gets its new position.
  const reorder = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to) return;
    const next = arrayMove(items, from, to);
    act.mutate(async () => {
      for (const [i, d] of next.entries()) {
        if (d.position !== i) await patch(tpath(tenant.slug, `/fields/customers/${d.key}`), { position: i });
      }
    });
  };
  const move = (i: number, d: number) => reorder(i, i + d);
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
          <Space>
            <Switch checked={archived} onChange={setArchived} aria-label={t('showArchived')} /> {t('showArchived')}
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="add-field">
              {t('add')}
            </Button>
          </Space>
        }
      />
      <Card>
        {q.error ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : (
          <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd}>
          <SortableContext items={items.map((d) => d.key)} strategy={verticalListSortingStrategy}>
          <Table<FieldDef>
            rowKey="key"
            components={{ body: { row: DragRow } }}
            loading={q.isPending}
            dataSource={items}
            pagination={false}
            locale={{ emptyText: <EmptyState text={t('empty')} /> }}
            columns={[
              { title: t('labelEn'), render: (_, d) => <Button type="link" style={{ padding: 0 }} onClick={() => setEditing(d)}>{fieldLabel(d, i18n.language)}</Button> },
              { title: t('key'), dataIndex: 'key', render: (k) => <code>custom.{k}</code> },
              { title: t('type'), dataIndex: 'type', render: (ty) => <Tag>{ty}</Tag> },
              {
                title: t('flags'),
                render: (_, d) => (
                  <Space size={4} wrap>
                    {d.required && <Tag color="blue">{t('required')}</Tag>}
                    {d.unique && <Tag color="purple">{t('unique')}</Tag>}
                    {d.filterable && <Tag>{t('filterable')}</Tag>}
                    {d.sortable && <Tag>{t('sortable')}</Tag>}
                    {d.sensitive && <Tag color="red">{t('sensitive')}</Tag>}
                    {d.archived_at && <Tag color="default">{t('archived')}</Tag>}
                    {!!d.pending && <Tag color="orange">{t('converting')}</Tag>}
                  </Space>
                ),
              },
              {
                title: '',
                align: 'right',
                render: (_, d, i) => (
                  <Space>
                    <Tooltip title={t('up')}>
                      <Button size="small" icon={<ArrowUpOutlined />} aria-label={t('up')} disabled={i === 0} onClick={() => move(i, -1)} />
                    </Tooltip>
                    <Tooltip title={t('down')}>
                      <Button size="small" icon={<ArrowDownOutlined />} aria-label={t('down')} disabled={i === items.length - 1} onClick={() => move(i, 1)} />
                    </Tooltip>
                    {d.archived_at ? (
                      <Button size="small" onClick={() => act.mutate(() => post(tpath(tenant.slug, `/fields/customers/${d.key}/restore`)))}>
                        {t('common:action.restore')}
                      </Button>
                    ) : (
                      <Button size="small" danger onClick={() => act.mutate(() => del(tpath(tenant.slug, `/fields/customers/${d.key}`)))}>
                        {t('common:action.archive')}
                      </Button>
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
      {editing && <FieldDrawer def={editing === 'new' ? null : editing} position={items.length} onClose={() => setEditing(null)} onSaved={refresh} />}
    </div>
  );
}

function FieldDrawer({ def, position, onClose, onSaved }: { def: FieldDef | null; position: number; onClose: () => void; onSaved: () => void }) {
  const { t, i18n } = useTranslation(['fields', 'common']);
  const tenant = useTenant();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [rest, setRest] = useState<string[]>([]);
  const values = Form.useWatch([], form) ?? {};
  const save = useMutation({
    mutationFn: (v: Record<string, unknown>) => {
      const body: Record<string, unknown> = {
        ...v,
        options: ((v.options as string[]) ?? []).map((o) => ({ value: o })),
      };
      if (!['select', 'multi_select'].includes(v.type as string)) delete body.options;
      if (def) {
        delete body.key;
        return patch(tpath(tenant.slug, `/fields/customers/${def.key}`), body);
      }
      return post(tpath(tenant.slug, '/fields/customers'), { ...body, position });
    },
    onSuccess: () => {
      message.success(t('saved'));
      onSaved();
      onClose();
    },
    onError: (e) => {
      const { fields, rest } = formErrors(e);
      form.setFields(fields.map((f) => ({ name: f.name[0] === 'options' ? 'options' : f.name, errors: f.errors })));
      setRest(rest);
    },
  });
  const preview: FieldDef = {
    key: values.key || 'preview',
    label_en: values.label_en || t('preview'),
    label_zh: values.label_zh,
    type: values.type || 'text',
    options: ((values.options as string[]) ?? []).map((o: string) => ({ value: o })),
    required: values.required,
    sensitive: values.sensitive,
  };
  return (
    <Drawer open width={520} title={def ? t('edit') : t('add')} onClose={onClose}
      extra={<Button type="primary" loading={save.isPending} onClick={() => form.submit()} data-testid="save-field">{t('common:action.save')}</Button>}>
      <Form
        form={form}
        layout="vertical"
        data-testid="field-form"
        onValuesChange={(ch) => form.setFields(Object.keys(ch).map((name) => ({ name, errors: [] })))}
        initialValues={def ? { ...def, options: (def.options ?? []).map((o) => o.value) } : { type: 'text', filterable: true }}
        onFinish={(v) => {
          setRest([]);
          save.mutate(v);
        }}
      >
        {rest.map((r) => (
          <div key={r} role="alert" style={{ color: '#b42318', marginBottom: 12 }}>{r}</div>
        ))}
        <Form.Item name="label_en" label={t('labelEn')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="label_zh" label={t('labelZh')}>
          <Input />
        </Form.Item>
        <Form.Item name="key" label={t('key')} extra={t('keyHelp')} rules={[{ required: !def, pattern: /^[a-z][a-z0-9_]{0,62}$/ }]}>
          <Input disabled={!!def} />
        </Form.Item>
        <Form.Item name="type" label={t('type')} extra={def ? t('typeChange') : undefined}>
          <Select options={FIELD_TYPES.map((ty) => ({ value: ty, label: ty }))} showSearch />
        </Form.Item>
        {['select', 'multi_select'].includes(values.type) && (
          <Form.Item name="options" label={t('options')} extra={t('optionsHelp')}>
            <Select mode="tags" open={false} tokenSeparators={[',', '，']} />
          </Form.Item>
        )}
        <Form.Item label={t('flags')}>
          <Space wrap>
            {(['required', 'unique', 'filterable', 'sortable', 'sensitive'] as const).map((k) => (
              <Form.Item key={k} name={k} valuePropName="checked" noStyle>
                <Checkbox>{t(k)}</Checkbox>
              </Form.Item>
            ))}
          </Space>
        </Form.Item>
        {values.type === 'rating' && (
          <Form.Item name="max" label="Max">
            <InputNumber min={1} max={10} />
          </Form.Item>
        )}
        <Form.Item name="help_en" label={t('help')}>
          <Input />
        </Form.Item>
      </Form>
      <Card size="small" title={t('preview')} style={{ marginTop: 8 }}>
        <Form layout="vertical">
          <Form.Item label={fieldLabel(preview, i18n.language)} required={preview.required}>
            <FieldInput def={preview} />
          </Form.Item>
        </Form>
      </Card>
    </Drawer>
  );
}

function DragRow(props: HTMLAttributes<HTMLTableRowElement> & { 'data-row-key'?: string }) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: props['data-row-key'] ?? '' });
  const style: CSSProperties = {
    ...props.style,
    transform: CSS.Translate.toString(transform),
    transition,
    cursor: 'grab',
    ...(isDragging ? { position: 'relative', zIndex: 9, background: '#f0f5ff' } : {}),
  };
  return <tr {...props} ref={setNodeRef} style={style} {...attributes} {...listeners} role="row" />;
}
