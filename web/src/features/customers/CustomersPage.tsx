// The customer list: search, quick filters (stage, tags, owner), a filter
// builder for every operator (custom fields included), saved segments with live
// counts, a column chooser, sortable columns, keyset "load more", bulk tag and
// owner, export with progress, and the create drawer. The list's query lives in
// the URL, so a filtered list survives opening a customer and coming back.
import './locales';
import { Suspense, lazy, useEffect, useMemo, useRef, useState } from 'react';
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Card, Checkbox, Input, Popconfirm, Popover, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import type { SortOrder, SorterResult } from 'antd/es/table/interface';
import { DeleteOutlined, FilterOutlined, PlusOutlined, SaveOutlined, SettingOutlined, TeamOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { errorMessage, get, post, del, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { MemberSelect } from './MemberSelect';
import { FilterBuilder } from './FilterBuilder';
import { ExportButton } from './ExportButton';
import { type FilterRow, fieldLabel, filterQuery, parseFilterQuery, showValue } from './fields';
import { type Customer, useFieldDefs, useMembers } from './api';
import { LIFECYCLES, LIFECYCLE_COLOR } from './locales';
import { usePhone } from '../../app/useMedia';

// The create sheet (the whole form, every field input) loads when opened.
const CreateCustomer = lazy(() => import('./CreateCustomer').then((m) => ({ default: m.CreateCustomer })));

const PAGE = 50;
const DEFAULT_HIDDEN = ['source', 'updated_at'];
const DEFAULT_CUSTOM = 3;
const SORTABLE = ['name', 'created_at', 'updated_at'];

// A segment is a saved view of the customers list: its filter, and the sort and columns it was saved with.
interface Segment { id: string; name: string; count?: number; query: string; shared: boolean; owner_id: string; sort?: string; columns?: string[] }

/**
 * useColumnChoice remembers, per company on this device, which columns are
 * hidden; until the user chooses, only the first few custom fields show.
 */
function useColumnChoice(slug: string, customKeys: string[]) {
  const key = `clientele.customers.hidden.${slug}`;
  const [chosen, setChosen] = useState<string[] | null>(() => {
    try {
      return JSON.parse(localStorage.getItem(key) ?? 'null');
    } catch {
      return null;
    }
  });
  const hidden = chosen ?? [...DEFAULT_HIDDEN, ...customKeys.slice(DEFAULT_CUSTOM)];
  const setHidden = (h: string[]) => {
    localStorage.setItem(key, JSON.stringify(h));
    setChosen(h);
  };
  return [hidden, setHidden] as const;
}

export default function CustomersPage() {
  const { t, i18n } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const defs = useFieldDefs(tenant.slug).data ?? [];
  const members = useMembers(tenant.slug);
  const [sp, setSp] = useSearchParams();
  const parsed = useMemo(() => parseFilterQuery(sp.toString()), [sp]);
  const segmentId = sp.get('segment_id') ?? undefined;
  const [q, setQ] = useState(parsed.q);
  const [rows, setRows] = useState<FilterRow[]>(parsed.rows);
  const [hidden, setHidden] = useColumnChoice(tenant.slug, defs.map((d) => 'custom.' + d.key));
  const [selected, setSelected] = useState<string[]>([]);
  const [creating, setCreating] = useState(false);
  const newButton = useRef<HTMLButtonElement>(null);
  // The sheet unmounts on close, so it cannot give focus back itself.
  const closeCreate = () => {
    setCreating(false);
    setTimeout(() => newButton.current?.focus({ preventScroll: true }), 0);
  };
  const phone = usePhone();
  const [showFilters, setShowFilters] = useState(false);

  // Whatever changes the query goes through the URL.
  const apply = (next: Partial<typeof parsed> & { segment?: string | null }) => {
    const m = { ...parsed, ...next };
    const p = filterQuery(m.rows, m);
    const seg = next.segment === undefined ? segmentId : next.segment;
    if (seg) p.set('segment_id', seg);
    setSelected([]);
    setSp(p, { replace: false });
  };
  useEffect(() => {
    setRows(parsed.rows);
    setQ(parsed.q);
  }, [parsed]);

  const listKey = ['tenant', tenant.slug, 'customers', 'list', sp.toString()];
  const list = useInfiniteQuery({
    queryKey: listKey,
    initialPageParam: '',
    queryFn: ({ pageParam }) => {
      const p = new URLSearchParams(sp);
      p.set('limit', String(PAGE));
      if (pageParam) p.set('cursor', pageParam);
      return get<{ items: Customer[]; next_cursor?: string }>(tpath(tenant.slug, '/customers?' + p.toString()));
    },
    getNextPageParam: (last) => last.next_cursor || undefined,
    placeholderData: keepPreviousData,
  });
  const segments = useQuery({
    queryKey: ['tenant', tenant.slug, 'segments'],
    queryFn: () => get<{ items: Segment[] }>(tpath(tenant.slug, '/views'), { entity: 'customers' }),
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const segment = segments.data?.items.find((s) => s.id === segmentId);

  const sortOrder = (key: string): SortOrder => (parsed.sort === key ? 'ascend' : parsed.sort === '-' + key ? 'descend' : null);
  const sortable = (key: string) => (SORTABLE.includes(key) || defs.some((d) => 'custom.' + d.key === key && d.sortable) ? { sorter: true, sortOrder: sortOrder(key), sortDirections: ['ascend', 'descend', 'ascend'] as ('ascend' | 'descend')[] } : {});
  const allColumns = [
    {
      key: 'name',
      title: t('name'),
      fixed: 'left' as const,
      ...sortable('name'),
      render: (_: unknown, c: Customer) => (
        <Space size={6}>
          <Link to={`/t/${tenant.slug}/customers/${c.id}`} style={{ fontWeight: 500 }}>{c.name}</Link>
          {c.kind === 'company' && <Tag icon={<TeamOutlined />} bordered={false}>{t('company')}</Tag>}
        </Space>
      ),
    },
    { key: 'emails', title: t('emails'), render: (_: unknown, c: Customer) => c.emails.join(', ') },
    { key: 'phones', title: t('phones'), render: (_: unknown, c: Customer) => <span style={{ whiteSpace: 'nowrap' }}>{c.phones.join(', ')}</span> },
    { key: 'lifecycle', title: t('lifecycle'), render: (_: unknown, c: Customer) => <Tag color={LIFECYCLE_COLOR[c.lifecycle]}>{t('lifecycle_' + c.lifecycle)}</Tag> },
    { key: 'tags', title: t('tags'), render: (_: unknown, c: Customer) => <Space size={[0, 4]} wrap>{c.tags.map((x) => <Tag key={x} bordered={false}>{x}</Tag>)}</Space> },
    { key: 'owner_id', title: t('owner'), render: (_: unknown, c: Customer) => members.name(c.owner_id) ?? '' },
    { key: 'source', title: t('source'), dataIndex: 'source' },
    { key: 'created_at', title: t('created'), ...sortable('created_at'), render: (_: unknown, c: Customer) => <span style={{ whiteSpace: 'nowrap' }}>{f.date(c.created_at)}</span> },
    { key: 'updated_at', title: t('updated'), ...sortable('updated_at'), render: (_: unknown, c: Customer) => <span style={{ whiteSpace: 'nowrap' }}>{f.date(c.updated_at)}</span> },
    ...defs.map((d) => ({
      key: 'custom.' + d.key,
      title: fieldLabel(d, i18n.language),
      ...sortable('custom.' + d.key),
      align: (['number', 'decimal', 'currency'].includes(d.type) ? 'right' : undefined) as 'right' | undefined,
      render: (_: unknown, c: Customer) => showValue(d, c.custom?.[d.key], i18n.language, f, members.name),
    })),
  ];
  const columns = allColumns.filter((c) => !hidden.includes(c.key));
  const columnKeys = allColumns.map((c) => c.key);

  const saveSegment = useMutation({
    mutationFn: (v: { name: string; shared: boolean }) => {
      const p = filterQuery(rows, { ...parsed, q });
      p.delete('sort');
      return post<Segment>(tpath(tenant.slug, '/views'), {
        entity: 'customers', name: v.name, query: p.toString(), shared: v.shared, sort: parsed.sort, columns: columns.map((c) => c.key),
      });
    },
    onSuccess: (s) => {
      message.success(t('segmentSaved'));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'segments'] });
      setSp(new URLSearchParams({ segment_id: s.id, ...(s.sort ? { sort: s.sort } : {}) }));
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const deleteSegment = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/views/${id}`)),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'segments'] });
      apply({ segment: null });
    },
    onError: (e) => message.error(errorMessage(e)),
  });

  // Opening a segment applies its filter, and the sort and columns it was saved with.
  const openSegment = (id?: string) => {
    const s = segments.data?.items.find((x) => x.id === id);
    if (s?.columns?.length) setHidden(columnKeys.filter((k) => !s.columns!.includes(k)));
    apply({ segment: id ?? null, ...(s?.sort ? { sort: s.sort } : {}) });
  };
  const filtered = sp.toString().replace(/(^|&)sort=[^&]*/, '') !== '';
  const quickFilters = parsed.lifecycle.length + parsed.tag.length + (parsed.owner ? 1 : 0) + (segmentId ? 1 : 0);
  return (
    <div>
      <PageHeader
        title={t('title')}
        subtitle={t('subtitle')}
        extra={
          <>
            <ExportButton params={sp} fields={columns.map((c) => c.key)} segmentQuery={segment?.query} />
            <Button ref={newButton} type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="new-customer">
              {t('new')}
            </Button>
          </>
        }
      />
      <Card styles={{ body: { padding: 0 } }}>
        <div style={{ padding: phone ? '12px 12px 8px' : '16px 20px 12px', display: 'flex', flexWrap: 'wrap', gap: 8, justifyContent: 'space-between' }}>
          {phone && (
            <div style={{ display: 'flex', gap: 8, width: '100%' }}>
              <Input.Search
                allowClear
                style={{ flex: 1, minWidth: 0 }}
                placeholder={t('search')}
                aria-label={t('searchLabel')}
                value={q}
                onChange={(e) => setQ(e.target.value)}
                onSearch={(v) => apply({ q: v })}
                data-testid="customer-search"
              />
              <Badge count={quickFilters} size="small">
                <Button icon={<FilterOutlined />} aria-expanded={showFilters} aria-controls="customer-filters" onClick={() => setShowFilters(!showFilters)} data-testid="toggle-filters">
                  {t('filters')}
                </Button>
              </Badge>
            </div>
          )}
          {(!phone || showFilters) && (
          <Space wrap size={8} id="customer-filters" style={phone ? { width: '100%' } : undefined} className={phone ? 'phone-filters' : undefined}>
            {!phone && <Input.Search
              allowClear
              style={{ width: 260 }}
              placeholder={t('search')}
              aria-label={t('searchLabel')}
              value={q}
              onChange={(e) => setQ(e.target.value)}
              onSearch={(v) => apply({ q: v })}
              data-testid="customer-search"
            />}
            <Select mode="multiple" allowClear style={{ width: 150 }} maxTagCount="responsive" placeholder={t('lifecycle')} aria-label={t('lifecycle')}
              value={parsed.lifecycle} onChange={(v: string[]) => apply({ lifecycle: v })}
              options={LIFECYCLES.map((l) => ({ value: l, label: t('lifecycle_' + l) }))} />
            <Select mode="tags" allowClear style={{ width: 150 }} maxTagCount="responsive" placeholder={t('tags')} aria-label={t('tags')} open={false}
              value={parsed.tag} onChange={(v: string[]) => apply({ tag: v.map((x) => x.toLowerCase()) })} tokenSeparators={[',', '，']} />
            <MemberSelect style={{ width: 160 }} placeholder={t('owner')} aria-label={t('owner')} value={parsed.owner} onChange={(v) => apply({ owner: v ?? '' })} />
          </Space>
          )}
          {(!phone || showFilters) && (
          <Space wrap size={8}>
            <Select
              allowClear
              style={{ width: 200 }}
              placeholder={t('segments')}
              aria-label={t('segments')}
              loading={segments.isPending}
              value={segmentId}
              onChange={(v?: string) => openSegment(v)}
              notFoundContent={<Typography.Text type="secondary">{t('noSegments')}</Typography.Text>}
              options={(segments.data?.items ?? []).map((s) => ({
                value: s.id,
                label: (
                  <Space style={{ justifyContent: 'space-between', width: '100%' }}>
                    <span>{s.name}</span>
                    <Badge count={f.number(s.count ?? 0)} color="var(--c-brand-soft)" style={{ color: 'var(--c-brand-on-soft)' }} showZero overflowCount={Number.MAX_SAFE_INTEGER} />
                  </Space>
                ),
              }))}
              data-testid="segment-select"
            />
            {segment && (
              <Popconfirm title={t('deleteSegmentConfirm', { name: segment.name })} onConfirm={() => deleteSegment.mutate(segment.id)}>
                <Tooltip title={t('deleteSegment')}>
                  <Button icon={<DeleteOutlined />} aria-label={t('deleteSegment')} />
                </Tooltip>
              </Popconfirm>
            )}
            {!phone && <Popover
              trigger="click"
              placement="bottomRight"
              title={t('columns')}
              content={
                <Checkbox.Group
                  style={{ display: 'flex', flexDirection: 'column', gap: 4, maxHeight: 360, overflow: 'auto' }}
                  value={columnKeys.filter((k) => !hidden.includes(k))}
                  onChange={(v) => setHidden(columnKeys.filter((k) => k !== 'name' && !v.includes(k)))}
                  options={allColumns.map((c) => ({ value: c.key, label: c.title, disabled: c.key === 'name' }))}
                />
              }
            >
              <Button icon={<SettingOutlined />}>{t('columns')}</Button>
            </Popover>}
          </Space>
          )}
        </div>
        <div style={{ padding: phone ? '0 12px 12px' : '0 20px 12px' }}>
          <FilterBuilder rows={rows} setRows={setRows} defs={defs} onApply={() => apply({ rows, q })}
            extra={(rows.length > 0 || filtered) && <SaveSegment onSave={(v) => saveSegment.mutate(v)} loading={saveSegment.isPending} />} />
        </div>
        {selected.length > 0 && <BulkBar ids={selected} onDone={() => setSelected([])} />}
        {list.error ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} />
        ) : phone ? (
          <CustomerCards
            items={items}
            loading={list.isPending || (list.isFetching && list.isPlaceholderData)}
            selected={selected}
            setSelected={setSelected}
            lifecycleLabel={(l) => t('lifecycle_' + l)}
            ownerName={members.name}
            empty={<EmptyState text={filtered ? t('noMatches') : t('empty')}>{!filtered && <Button type="primary" onClick={() => setCreating(true)}>{t('new')}</Button>}</EmptyState>}
          />
        ) : (
          <Table<Customer>
            rowKey="id"
            size="middle"
            loading={list.isPending || (list.isFetching && list.isPlaceholderData)}
            dataSource={items}
            columns={columns}
            pagination={false}
            sticky
            scroll={{ x: 'max-content' }}
            rowSelection={{ selectedRowKeys: selected, onChange: (k) => setSelected(k as string[]), fixed: true }}
            onChange={(_p, _f, s) => {
              const so = (Array.isArray(s) ? s[0] : s) as SorterResult<Customer>;
              const key = so?.columnKey as string | undefined;
              apply({ sort: so?.order && key ? (so.order === 'descend' ? '-' : '') + key : '' });
            }}
            locale={{ emptyText: <EmptyState text={filtered ? t('noMatches') : t('empty')}>{!filtered && <Button type="primary" onClick={() => setCreating(true)}>{t('new')}</Button>}</EmptyState> }}
            data-testid="customer-table"
          />
        )}
        <div style={{ display: 'flex', alignItems: 'center', justifyContent: 'space-between', gap: 8, flexWrap: 'wrap', padding: phone ? '12px' : '12px 20px' }}>
          <Typography.Text type="secondary" aria-live="polite">{t('count', { n: items.length })}</Typography.Text>
          {list.hasNextPage ? (
            <Button onClick={() => list.fetchNextPage()} loading={list.isFetchingNextPage} data-testid="load-more">{t('common:state.loadMore')}</Button>
          ) : items.length > 0 ? (
            <Typography.Text type="secondary">{t('common:state.allLoaded')}</Typography.Text>
          ) : null}
        </div>
      </Card>
      {creating && <Suspense fallback={null}><CreateCustomer defs={defs} onClose={closeCreate} /></Suspense>}
    </div>
  );
}

function SaveSegment({ onSave, loading }: { onSave: (v: { name: string; shared: boolean }) => void; loading: boolean }) {
  const { t } = useTranslation('customers');
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [shared, setShared] = useState(true);
  return (
    <Popover
      open={open}
      onOpenChange={setOpen}
      trigger="click"
      title={t('saveSegment')}
      content={
        <Space direction="vertical" style={{ width: 260 }}>
          <Input aria-label={t('segmentName')} placeholder={t('segmentName')} value={name} onChange={(e) => setName(e.target.value)} maxLength={100}
            onPressEnter={() => name.trim() && (onSave({ name: name.trim(), shared }), setOpen(false))} />
          <Checkbox checked={shared} onChange={(e) => setShared(e.target.checked)}>{t('shared')}</Checkbox>
          <Typography.Text type="secondary">{t('segmentKeeps')}</Typography.Text>
          <Button type="primary" block disabled={!name.trim()} loading={loading} onClick={() => { onSave({ name: name.trim(), shared }); setOpen(false); setName(''); }}>
            {t('common:action.save')}
          </Button>
        </Space>
      }
    >
      <Button icon={<SaveOutlined />}>{t('saveSegment')}</Button>
    </Popover>
  );
}

function BulkBar({ ids, onDone }: { ids: string[]; onDone: () => void }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [tag, setTag] = useState('');
  const bulk = useMutation({
    mutationFn: (body: Record<string, unknown>) => post<{ updated: number; unchanged: number; not_found: string[] }>(tpath(tenant.slug, '/customers/bulk'), { ids, ...body }),
    onSuccess: (r) => {
      message.success(t('bulkDone', { updated: r.updated, unchanged: r.unchanged }));
      setTag('');
      onDone();
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'customers'] });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  return (
    <div role="region" aria-label={t('bulkActions')} style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'center', padding: '10px 20px', background: 'var(--c-bulk)', borderTop: '1px solid var(--c-bulk-border)', borderBottom: '1px solid var(--c-bulk-border)' }}>
      <b style={{ marginRight: 8 }}>{t('selected', { n: ids.length })}</b>
      <Space.Compact>
        <Input aria-label={t('tagName')} placeholder={t('tagName')} value={tag} onChange={(e) => setTag(e.target.value)} style={{ width: 150 }}
          onPressEnter={() => tag.trim() && bulk.mutate({ add_tags: [tag.trim()] })} data-testid="bulk-tag" />
        <Button disabled={!tag.trim()} loading={bulk.isPending} onClick={() => bulk.mutate({ add_tags: [tag.trim()] })}>{t('bulkTag')}</Button>
        <Button disabled={!tag.trim()} loading={bulk.isPending} onClick={() => bulk.mutate({ remove_tags: [tag.trim()] })}>{t('bulkUntag')}</Button>
      </Space.Compact>
      <MemberSelect style={{ width: 200 }} placeholder={t('bulkOwner')} aria-label={t('bulkOwner')} onChange={(v) => v && bulk.mutate({ owner_id: v })} />
      <Select style={{ width: 170 }} placeholder={t('bulkStage')} aria-label={t('bulkStage')} value={null}
        options={LIFECYCLES.map((l) => ({ value: l, label: t('lifecycle_' + l) }))} onChange={(v: string) => bulk.mutate({ lifecycle: v })} />
      <Button type="link" onClick={onDone}>{t('clearSelection')}</Button>
    </div>
  );
}

/**
 * CustomerCards is the list on a phone: one card per customer with the fields a
 * person scans for (name, stage, email, phone, owner), a checkbox that feeds the
 * same bulk actions as the table, and a "select all" over what is shown.
 */
function CustomerCards({ items, loading, selected, setSelected, lifecycleLabel, ownerName, empty }: {
  items: Customer[];
  loading: boolean;
  selected: string[];
  setSelected: (ids: string[]) => void;
  lifecycleLabel: (l: string) => string;
  ownerName: (id?: string) => string | undefined;
  empty: React.ReactNode;
}) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  if (loading && items.length === 0) return <div role="status" style={{ padding: 24, textAlign: 'center' }}>{t('common:state.loading')}</div>;
  if (items.length === 0) return <>{empty}</>;
  const all = items.length > 0 && items.every((c) => selected.includes(c.id));
  const some = !all && items.some((c) => selected.includes(c.id));
  return (
    <div data-testid="customer-cards" aria-busy={loading}>
      <div style={{ padding: '0 12px' }}>
        <Checkbox checked={all} indeterminate={some} onChange={(e) => setSelected(e.target.checked ? items.map((c) => c.id) : [])}>
          {t('selectAll')}
        </Checkbox>
      </div>
      <ul aria-label={t('list')} style={{ listStyle: 'none', margin: 0, padding: 0 }}>
        {items.map((c) => {
          const owner = ownerName(c.owner_id);
          return (
            <li key={c.id} className="customer-card" data-testid="customer-card">
              <Checkbox
                aria-label={t('selectOne', { name: c.name })}
                checked={selected.includes(c.id)}
                onChange={(e) => setSelected(e.target.checked ? [...selected, c.id] : selected.filter((x) => x !== c.id))}
              />
              <div style={{ minWidth: 0 }}>
                <div style={{ display: 'flex', alignItems: 'center', gap: 8, flexWrap: 'wrap' }}>
                  <Link className="name" to={`/t/${tenant.slug}/customers/${c.id}`}>{c.name}</Link>
                  <Tag color={LIFECYCLE_COLOR[c.lifecycle]} style={{ marginInlineEnd: 0 }}>{lifecycleLabel(c.lifecycle)}</Tag>
                  {c.kind === 'company' && <Tag icon={<TeamOutlined />} bordered={false}>{t('company')}</Tag>}
                </div>
                {c.emails[0] && <div className="meta">{c.emails[0]}</div>}
                {c.phones[0] && <div className="meta">{c.phones[0]}</div>}
                {(owner || c.tags.length > 0) && (
                  <div className="meta">
                    {[owner && `${t('owner')}: ${owner}`, c.tags.length > 0 && c.tags.join(', ')].filter(Boolean).join(' · ')}
                  </div>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
