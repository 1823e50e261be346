// The customer list: search, a filter builder for every operator (custom fields
import './locales';
// included), saved segments, a column chooser, keyset "load more", bulk tag and
// owner, a create drawer with duplicate warning, and export with progress.
import { useMemo, useState } from 'react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Checkbox, Drawer, Form, Input, Popover, Progress, Select, Space, Table, Tag } from 'antd';
import { DownloadOutlined, FilterOutlined, PlusOutlined, SettingOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, errorMessage, formErrors, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { FieldInput, showValue } from './FieldInput';
import { type FilterRow, OPS, changedNames, fieldLabel, filterQuery } from './fields';
import { type Customer, useFieldDefs } from './api';
import { LIFECYCLES } from './locales';

const STANDARD = ['name', 'emails', 'phones', 'tags', 'lifecycle', 'source', 'created_at'];

export default function CustomersPage() {
  const { t, i18n } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const defs = useFieldDefs(tenant.slug).data ?? [];
  const [q, setQ] = useState('');
  const [rows, setRows] = useState<FilterRow[]>([]);
  const [applied, setApplied] = useState<{ q: string; rows: FilterRow[]; segment?: string }>({ q: '', rows: [] });
  const [hidden, setHidden] = useState<string[]>([]);
  const [selected, setSelected] = useState<string[]>([]);
  const [creating, setCreating] = useState(false);
  const params = useMemo(() => {
    const p = filterQuery(applied.rows, { q: applied.q });
    if (applied.segment) p.set('segment_id', applied.segment);
    return p;
  }, [applied]);
  const list = useInfiniteQuery({
    queryKey: ['tenant', tenant.slug, 'customers', params.toString()],
    initialPageParam: '',
    queryFn: ({ pageParam }) => {
      const p = new URLSearchParams(params);
      p.set('limit', '50');
      if (pageParam) p.set('cursor', pageParam);
      return get<{ items: Customer[]; next_cursor?: string }>(tpath(tenant.slug, '/customers?' + p.toString()));
    },
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
  const segments = useQuery({
    queryKey: ['tenant', tenant.slug, 'segments'],
    queryFn: () => get<{ items: { id: string; name: string; count?: number; query: string }[] }>(tpath(tenant.slug, '/segments')),
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const defByKey = Object.fromEntries(defs.map((d) => [d.key, d]));
  const fieldOptions = [
    ...['name', 'emails', 'phones', 'tags', 'lifecycle', 'source', 'kind', 'created_at'].map((k) => ({ value: k, label: t(k === 'created_at' ? 'created' : k) })),
    ...defs.filter((d) => d.filterable).map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) })),
  ];
  const bulk = useMutation({
    mutationFn: (body: Record<string, unknown>) => post<{ updated: number }>(tpath(tenant.slug, '/customers/bulk'), { ids: selected, ...body }),
    onSuccess: (r) => {
      message.success(`${t('saved')}: ${r.updated}`);
      setSelected([]);
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'customers'] });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const columns = [
    {
      key: 'name',
      title: t('name'),
      render: (_: unknown, c: Customer) => (
        <Link to={`/t/${tenant.slug}/customers/${c.id}`}>
          {c.name} {c.kind === 'company' && <Tag>{t('company')}</Tag>}
        </Link>
      ),
    },
    { key: 'emails', title: t('emails'), render: (_: unknown, c: Customer) => c.emails.join(', ') },
    { key: 'phones', title: t('phones'), render: (_: unknown, c: Customer) => c.phones.join(', ') },
    { key: 'lifecycle', title: t('lifecycle'), render: (_: unknown, c: Customer) => <Tag color="blue">{t('lifecycle_' + c.lifecycle)}</Tag> },
    { key: 'tags', title: t('tags'), render: (_: unknown, c: Customer) => c.tags.map((x) => <Tag key={x}>{x}</Tag>) },
    { key: 'source', title: t('source'), dataIndex: 'source' },
    { key: 'created_at', title: t('created'), render: (_: unknown, c: Customer) => f.date(c.created_at) },
    ...defs.map((d) => ({
      key: 'custom.' + d.key,
      title: fieldLabel(d, i18n.language),
      render: (_: unknown, c: Customer) => showValue(d, c.custom?.[d.key], i18n.language),
    })),
  ].filter((c) => !hidden.includes(c.key));
  return (
    <div>
      <PageHeader
        title={t('title')}
        subtitle={t('subtitle')}
        extra={
          <Space>
            <ExportButton params={params} />
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="new-customer">
              {t('new')}
            </Button>
          </Space>
        }
      />
      <Card>
        <Space direction="vertical" style={{ width: '100%' }} size="middle">
          <Space wrap>
            <Input.Search
              allowClear
              style={{ width: 380 }}
              placeholder={t('search')}
              aria-label={t('search')}
              value={q}
              onChange={(e) => setQ(e.target.value)}
              onSearch={(v) => setApplied({ ...applied, q: v })}
              data-testid="customer-search"
            />
            <Select
              allowClear
              style={{ minWidth: 220 }}
              placeholder={t('segments')}
              aria-label={t('segments')}
              value={applied.segment}
              onChange={(v) => setApplied({ ...applied, segment: v })}
              options={(segments.data?.items ?? []).map((s) => ({ value: s.id, label: `${s.name}${s.count !== undefined ? ` (${s.count})` : ''}` }))}
            />
            <Popover
              trigger="click"
              content={
                <Checkbox.Group
                  style={{ display: 'flex', flexDirection: 'column' }}
                  value={[...STANDARD, ...defs.map((d) => 'custom.' + d.key)].filter((k) => !hidden.includes(k))}
                  onChange={(v) => setHidden([...STANDARD, ...defs.map((d) => 'custom.' + d.key)].filter((k) => !v.includes(k)))}
                  options={[...STANDARD.map((k) => ({ value: k, label: t(k === 'created_at' ? 'created' : k) })), ...defs.map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) }))]}
                />
              }
            >
              <Button icon={<SettingOutlined />}>{t('columns')}</Button>
            </Popover>
          </Space>
          <FilterBuilder rows={rows} setRows={setRows} fieldOptions={fieldOptions} defs={defByKey}
            onApply={() => setApplied({ ...applied, q, rows })}
            onSave={async (name) => {
              try {
                await post(tpath(tenant.slug, '/segments'), { name, query: filterQuery(rows, { q }).toString(), shared: true });
                message.success(t('saved'));
                segments.refetch();
              } catch (e) {
                message.error(errorMessage(e));
              }
            }}
          />
          {selected.length > 0 && (
            <Space>
              <span>{t('selected', { n: selected.length })}</span>
              <Input.Search placeholder={t('bulkTag')} aria-label={t('bulkTag')} enterButton={t('bulkTag')} style={{ width: 260 }}
                onSearch={(v) => v.trim() && bulk.mutate({ add_tags: [v.trim()] })} />
              <OwnerPicker onPick={(id) => bulk.mutate({ owner_id: id })} />
            </Space>
          )}
          {list.error ? (
            <ErrorState error={list.error} onRetry={() => list.refetch()} />
          ) : (
            <Table<Customer>
              rowKey="id"
              size="middle"
              loading={list.isPending}
              dataSource={items}
              columns={columns}
              pagination={false}
              scroll={{ x: true }}
              rowSelection={{ selectedRowKeys: selected, onChange: (k) => setSelected(k as string[]) }}
              locale={{ emptyText: <EmptyState /> }}
              data-testid="customer-table"
            />
          )}
          <Space>
            <span>{t('count', { n: items.length })}</span>
            {list.hasNextPage ? (
              <Button onClick={() => list.fetchNextPage()} loading={list.isFetchingNextPage}>{t('common:state.loadMore')}</Button>
            ) : items.length > 0 ? (
              <span style={{ color: '#555b66' }}>{t('common:state.allLoaded')}</span>
            ) : null}
          </Space>
        </Space>
      </Card>
      {creating && <CreateCustomer defs={defs} onClose={() => setCreating(false)} />}
    </div>
  );
}

function FilterBuilder({ rows, setRows, fieldOptions, defs, onApply, onSave }: {
  rows: FilterRow[]; setRows: (r: FilterRow[]) => void; fieldOptions: { value: string; label: string }[];
  defs: Record<string, import('./fields').FieldDef>; onApply: () => void; onSave: (name: string) => void;
}) {
  const { t } = useTranslation(['customers', 'common']);
  const [name, setName] = useState('');
  const set = (i: number, r: Partial<FilterRow>) => setRows(rows.map((x, j) => (j === i ? { ...x, ...r } : x)));
  return (
    <Space direction="vertical" data-testid="filter-builder">
      {rows.map((r, i) => {
        const def = r.field.startsWith('custom.') ? defs[r.field.slice(7)] : undefined;
        return (
          <Space key={i} wrap>
            <Select aria-label={t('field')} style={{ width: 200 }} value={r.field || undefined} placeholder={t('field')} options={fieldOptions}
              onChange={(v) => set(i, { field: v, value: '' })} data-testid={`filter-field-${i}`} />
            <Select aria-label={t('op')} style={{ width: 140 }} value={r.op} options={OPS.map((o) => ({ value: o, label: t('op_' + o) }))}
              onChange={(v) => set(i, { op: v })} />
            {r.op !== 'empty' && (def?.type === 'select' || def?.type === 'multi_select') && r.op !== 'in' ? (
              <Select aria-label={t('value')} style={{ width: 200 }} value={r.value || undefined}
                options={(def.options ?? []).map((o) => ({ value: o.value, label: o.label_en || o.value }))} onChange={(v) => set(i, { value: v })}
                data-testid={`filter-value-${i}`} />
            ) : r.op !== 'empty' ? (
              <Input aria-label={t('value')} style={{ width: 200 }} value={r.value} placeholder={r.op === 'between' || r.op === 'in' ? 'a,b' : ''}
                onChange={(e) => set(i, { value: e.target.value })} data-testid={`filter-value-${i}`} />
            ) : null}
            <Button type="text" onClick={() => setRows(rows.filter((_, j) => j !== i))} aria-label={t('common:action.remove')}>✕</Button>
          </Space>
        );
      })}
      <Space wrap>
        <Button icon={<FilterOutlined />} onClick={() => setRows([...rows, { field: '', op: 'eq', value: '' }])} data-testid="add-filter">{t('addFilter')}</Button>
        <Button type="primary" onClick={onApply} data-testid="apply-filters">{t('apply')}</Button>
        {rows.length > 0 && (
          <>
            <Button onClick={() => { setRows([]); }}>{t('clear')}</Button>
            <Input aria-label={t('segmentName')} placeholder={t('segmentName')} value={name} onChange={(e) => setName(e.target.value)} style={{ width: 180 }} />
            <Button disabled={!name.trim()} onClick={() => onSave(name.trim())}>{t('saveSegment')}</Button>
          </>
        )}
      </Space>
    </Space>
  );
}

function OwnerPicker({ onPick }: { onPick: (id: string) => void }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const members = useQuery({
    queryKey: ['tenant', tenant.slug, 'members'],
    queryFn: () => get<{ items: { identity_id: string; email: string; name?: string }[] }>(tpath(tenant.slug, '/members')),
  });
  return (
    <Select style={{ width: 220 }} placeholder={t('bulkOwner')} aria-label={t('bulkOwner')} onChange={onPick}
      options={(members.data?.items ?? []).map((m) => ({ value: m.identity_id, label: m.name || m.email }))} />
  );
}

function ExportButton({ params }: { params: URLSearchParams }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const { message } = App.useApp();
  const [job, setJob] = useState<string | null>(null);
  const st = useQuery({
    queryKey: ['tenant', tenant.slug, 'export', job],
    enabled: !!job,
    queryFn: () => get<{ status: string; fraction?: number; download_url?: string; error?: string }>(tpath(tenant.slug, `/exports/${job}`)),
    refetchInterval: (q) => (q.state.data?.status === 'succeeded' || q.state.data?.status === 'failed' ? false : 1000),
  });
  const start = async (format: string) => {
    const p = new URLSearchParams(params);
    const segment = p.get('segment_id');
    p.delete('segment_id');
    try {
      const r = await post<{ id: string }>(tpath(tenant.slug, '/exports'), segment ? { segment_id: segment, format } : { filter: p.toString(), format });
      setJob(r.id);
    } catch (e) {
      message.error(errorMessage(e));
    }
  };
  if (job && st.data?.status === 'succeeded' && st.data.download_url) {
    return <Button icon={<DownloadOutlined />} href={st.data.download_url} onClick={() => setTimeout(() => setJob(null), 500)}>{t('download')}</Button>;
  }
  if (job) return <Progress type="circle" size={32} percent={Math.round((st.data?.fraction ?? 0) * 100)} status={st.data?.status === 'failed' ? 'exception' : 'active'} />;
  return (
    <Space.Compact>
      <Button icon={<DownloadOutlined />} onClick={() => start('csv')}>{t('export')} CSV</Button>
      <Button onClick={() => start('xlsx')}>XLSX</Button>
    </Space.Compact>
  );
}

function CreateCustomer({ defs, onClose }: { defs: import('./fields').FieldDef[]; onClose: () => void }) {
  const { t, i18n } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [dup, setDup] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: ({ v, allow }: { v: Record<string, unknown>; allow: boolean }) => {
      const body = {
        kind: v.kind,
        name: v.name,
        emails: ((v.emails as string) || '').split(/[,\s;]+/).filter(Boolean),
        phones: ((v.phones as string) || '').split(/[,;]+/).map((s) => s.trim()).filter(Boolean),
        tags: v.tags ?? [],
        lifecycle: v.lifecycle,
        source: v.source || undefined,
        custom: Object.fromEntries(Object.entries((v.custom as Record<string, unknown>) ?? {}).filter(([, x]) => x !== undefined && x !== null && x !== '')),
      };
      return post<Customer>(tpath(tenant.slug, '/customers') + (allow ? '?allow_duplicate=true' : ''), body);
    },
    onSuccess: (c) => {
      message.success(t('created_ok'));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'customers'] });
      onClose();
      nav(`/t/${tenant.slug}/customers/${c.id}`);
    },
    onError: (e) => {
      if (e instanceof ApiError && e.status === 409) {
        const m = e.detail.match(/[0-9a-f]{8}-[0-9a-f-]{27}/);
        setDup(m ? m[0] : '');
        return;
      }
      const { fields } = formErrors(e);
      form.setFields(fields.map((x) => ({ name: x.name.length > 1 && x.name[0] !== 'custom' ? [x.name[0]] : x.name, errors: x.errors })));
    },
  });
  return (
    <Drawer open width={560} title={t('new')} onClose={onClose}
      extra={<Button type="primary" loading={save.isPending} onClick={() => form.submit()} data-testid="save-customer">{t('common:action.save')}</Button>}>
      {dup !== null && (
        <div role="alert" style={{ background: '#fff7e6', border: '1px solid #ffd591', padding: 12, borderRadius: 6, marginBottom: 16 }}>
          {t('duplicate')}{' '}
          {dup && <Link to={`/t/${tenant.slug}/customers/${dup}`} onClick={onClose}>{t('openExisting')}</Link>}{' '}
          <Button size="small" onClick={() => save.mutate({ v: form.getFieldsValue(), allow: true })}>{t('createAnyway')}</Button>
        </div>
      )}
      <Form form={form} layout="vertical" initialValues={{ kind: 'person', lifecycle: 'lead' }} onFinish={(v) => save.mutate({ v, allow: false })} data-testid="customer-form"
        onValuesChange={(ch) => form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })))}>
        <Form.Item name="name" label={t('name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Space style={{ width: '100%' }} align="start">
          <Form.Item name="kind" label={t('kind')}>
            <Select style={{ width: 160 }} options={[{ value: 'person', label: t('person') }, { value: 'company', label: t('company') }]} />
          </Form.Item>
          <Form.Item name="lifecycle" label={t('lifecycle')}>
            <Select style={{ width: 200 }} options={LIFECYCLES.map((l) => ({ value: l, label: t('lifecycle_' + l) }))} />
          </Form.Item>
        </Space>
        <Form.Item name="emails" label={t('emails')}>
          <Input placeholder="li.lei@example.com" />
        </Form.Item>
        <Form.Item name="phones" label={t('phones')}>
          <Input placeholder="+86 139 1234 5678" />
        </Form.Item>
        <Form.Item name="tags" label={t('tags')}>
          <Select mode="tags" open={false} tokenSeparators={[',']} />
        </Form.Item>
        <Form.Item name="source" label={t('source')}>
          <Input />
        </Form.Item>
        {defs.map((d) => (
          <Form.Item key={d.key} name={['custom', d.key]} label={fieldLabel(d, i18n.language)} required={d.required} extra={d.help_en}>
            <FieldInput def={d} />
          </Form.Item>
        ))}
      </Form>
    </Drawer>
  );
}
