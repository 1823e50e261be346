// The deals board (商机看板): one pipeline's stages as columns, each with its
// count, totals, weighted totals and rotting count (in each deal currency, and
// converted into the company's when a column holds others). Deals are dragged within
// and between columns with the pointer or the keyboard (Space, arrows,
// Space), marked won or lost from the card, and filtered by owner, tag and
// expected close. After every move the board's figures come again from the
// server, so they change without a reload; a stale move shows the deal as it is.
// A link from a dashboard's point (drill-down) carries the deal list's filters
// instead: the page then lists those deals, of every pipeline (DrilledDeals).
import './locales';
import { useEffect, useMemo, useState } from 'react';
import {
  DndContext, KeyboardSensor, PointerSensor, closestCorners, useDroppable, useSensor, useSensors, type DragEndEvent,
} from '@dnd-kit/core';
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Card, DatePicker, Empty, Form, Input, Modal, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { CheckOutlined, CloseOutlined, ClockCircleOutlined, HolderOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { Dayjs } from 'dayjs';
import { ApiError, errorMessage, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import AnalyticsPanel from './AnalyticsPanel';
import DrilledDeals, { dealDrill, type Drill } from './DrilledDeals';
import RatesDrawer from './RatesDrawer';
import PipelinesDrawer from './PipelinesDrawer';
import { MemberSelect } from '../customers/MemberSelect';
import '../customers/locales';
import {
  applyMove, closingStage, columnId, moveTarget, stageName,
  type Board, type Column, type Deal, type MoveTarget, type Pipeline, type Stage,
} from './board';

interface LostReason {
  id: string;
  name_en: string;
  name_zh: string;
}

interface Filters {
  owner?: string;
  tag?: string;
  close?: [Dayjs | null, Dayjs | null] | null;
}

export default function BoardPage() {
  const [drill, setDrill] = useState<Drill>(() => dealDrill(new URLSearchParams(window.location.search)));
  if (drill.length === 0) return <DealsBoard />;
  const clear = () => {
    const u = new URL(window.location.href);
    for (const [k] of drill) u.searchParams.delete(k);
    window.history.replaceState(window.history.state, '', u);
    setDrill([]);
  };
  return <DrilledDeals drill={drill} onClear={clear} />;
}

function DealsBoard() {
  const { t, i18n } = useTranslation(['funnel', 'common']);
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const pipelines = useQuery({
    queryKey: ['tenant', tenant.slug, 'pipelines'],
    queryFn: () => get<{ items: Pipeline[] }>(tpath(tenant.slug, '/pipelines')),
    staleTime: 60_000,
  });
  // The pipeline shown is in the address (?pipeline=), so a board can be linked
  // and a reload keeps it.
  const [pipelineId, setPipelineId] = useState<string | undefined>(() => new URLSearchParams(window.location.search).get('pipeline') ?? undefined);
  const choosePipeline = (id: string) => {
    setPipelineId(id);
    const u = new URL(window.location.href);
    u.searchParams.set('pipeline', id);
    window.history.replaceState(window.history.state, '', u);
  };
  const current = pipelines.data?.items.find((p) => p.id === pipelineId) ?? pipelines.data?.items.find((p) => p.is_default) ?? pipelines.data?.items[0];
  const [filters, setFilters] = useState<Filters>({});
  const query = {
    owner: filters.owner,
    tag: filters.tag?.trim() || undefined,
    'expected_close[gte]': filters.close?.[0]?.format('YYYY-MM-DD'),
    'expected_close[lte]': filters.close?.[1]?.format('YYYY-MM-DD'),
  };
  const boardKey = ['tenant', tenant.slug, 'board', current?.id, query];
  const board = useQuery({
    queryKey: boardKey,
    queryFn: () => get<Board>(tpath(tenant.slug, `/pipelines/${current!.id}/board`), query),
    enabled: !!current,
  });
  // What the board shows: the server's board, with a move applied at once
  // while the server confirms it, and the pages a column loaded on demand.
  const [cols, setCols] = useState<Column[]>([]);
  useEffect(() => setCols(board.data?.columns ?? []), [board.data]);
  const stages = useMemo(() => new Map((board.data?.pipeline.stages ?? []).map((s) => [s.id, s])), [board.data]);
  const [losing, setLosing] = useState<Deal | null>(null);
  const [ratesOpen, setRatesOpen] = useState(false);
  const [pipesOpen, setPipesOpen] = useState(false);

  const move = useMutation({
    mutationFn: ({ deal, target, lost }: { deal: Deal; target: MoveTarget; lost?: { reason: string; note?: string } }) =>
      post<Deal>(tpath(tenant.slug, `/deals/${deal.id}/move`), {
        ...target, version: deal.version, lost_reason_id: lost?.reason, lost_note: lost?.note,
      }),
    onMutate: ({ deal, target }) => setCols((c) => applyMove(c, deal.id, target)),
    onSuccess: (d) => {
      const s = stages.get(d.stage_id);
      if (s) message.success(t('moved', { stage: stageName(s, i18n.language) }));
    },
    onError: (err) => {
      if (err instanceof ApiError && err.status === 409) message.warning(t('stale'));
      else message.error(errorMessage(err));
    },
    // Right or wrong, the figures come again from the server.
    onSettled: () => qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'board'] }),
  });

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const dealById = (id: string) => cols.flatMap((c) => c.deals).find((d) => d.id === id);

  const onDragEnd = (e: DragEndEvent) => {
    if (!e.over) return;
    const deal = dealById(String(e.active.id));
    if (!deal) return;
    const target = moveTarget(cols, deal.id, String(e.over.id));
    if (!target) return;
    const to = stages.get(target.stage_id);
    if (to?.kind === 'lost' && to.id !== deal.stage_id) {
      setLosing(deal); // a lost deal needs its reason first
      return;
    }
    move.mutate({ deal, target });
  };

  const quick = (deal: Deal, kind: 'won' | 'lost') => {
    const s = board.data && closingStage(board.data.pipeline, kind);
    if (!s) return;
    if (kind === 'lost') setLosing(deal);
    else move.mutate({ deal, target: { stage_id: s.id } });
  };

  const loadMore = async (c: Column) => {
    try {
      const page = await get<{ items: Deal[]; next_cursor?: string }>(tpath(tenant.slug, '/deals'), {
        ...query, stage_id: c.stage_id, sort: 'position', cursor: c.next_cursor, limit: 50,
      });
      setCols((cs) => cs.map((x) => (x.stage_id === c.stage_id ? { ...x, deals: [...x.deals, ...page.items], next_cursor: page.next_cursor } : x)));
    } catch (err) {
      message.error(errorMessage(err));
    }
  };

  if (pipelines.error) return <ErrorState error={pipelines.error} onRetry={() => pipelines.refetch()} />;
  if (pipelines.isPending) return <Loading />;
  if (!current) return <Empty description={t('noPipeline')} />;
  return (
    <div>
      <PageHeader title={t('title')} subtitle={t('subtitle')} />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap>
          <label htmlFor="board-pipeline">{t('pipeline')}</label>
          <Select id="board-pipeline" data-testid="board-pipeline" style={{ minWidth: 180 }} value={current.id} onChange={choosePipeline}
            options={pipelines.data!.items.map((p) => ({ value: p.id, label: stageName(p, i18n.language) }))} />
          <MemberSelect aria-label={t('owner')} placeholder={t('owner')} style={{ width: 200 }} value={filters.owner}
            onChange={(v) => setFilters((f) => ({ ...f, owner: v ?? undefined }))} />
          <Input aria-label={t('tag')} placeholder={t('tag')} style={{ width: 140 }} allowClear value={filters.tag}
            onChange={(e) => setFilters((f) => ({ ...f, tag: e.target.value }))} />
          <DatePicker.RangePicker aria-label={t('expectedClose')} placeholder={[t('expectedClose'), t('expectedClose')]} value={filters.close ?? null}
            onChange={(v) => setFilters((f) => ({ ...f, close: v as Filters['close'] }))} />
          <Button onClick={() => setFilters({})}>{t('clear')}</Button>
          <Button onClick={() => setRatesOpen(true)} data-testid="open-rates">{t('rates.open')}</Button>
          <Button onClick={() => setPipesOpen(true)} data-testid="open-pipelines">{t('pipes.open')}</Button>
        </Space>
      </Card>
      <Typography.Paragraph type="secondary" className="sr-only" id="board-drag-hint">{t('dragHint')}</Typography.Paragraph>
      {board.error ? <ErrorState error={board.error} onRetry={() => board.refetch()} /> : board.isPending ? <Loading /> : (
        <DndContext sensors={sensors} collisionDetection={closestCorners} onDragEnd={onDragEnd}
          accessibility={{ screenReaderInstructions: { draggable: t('dragHint') } }}>
          <div className="funnel-board" data-testid="board" style={{ display: 'flex', gap: 12, overflowX: 'auto', alignItems: 'flex-start', paddingBottom: 8 }}>
            {cols.map((c) => {
              const s = stages.get(c.stage_id);
              return s ? <BoardColumn key={c.stage_id} column={c} stage={s} base={board.data?.currency} lang={i18n.language} onQuick={quick} onMore={() => loadMore(c)} /> : null;
            })}
          </div>
        </DndContext>
      )}
      <AnalyticsPanel pipeline={current} owner={filters.owner} />
      <RatesDrawer open={ratesOpen} onClose={() => setRatesOpen(false)} />
      <PipelinesDrawer open={pipesOpen} onClose={() => setPipesOpen(false)} pipelines={pipelines.data!.items} current={current.id} onChoose={choosePipeline} />
      <LostDialog deal={losing} onCancel={() => setLosing(null)} onLost={(reason, note) => {
        const s = board.data && closingStage(board.data.pipeline, 'lost');
        if (losing && s) move.mutate({ deal: losing, target: { stage_id: s.id }, lost: { reason, note } });
        setLosing(null);
      }} />
    </div>
  );
}

function BoardColumn({ column, stage, base, lang, onQuick, onMore }: {
  column: Column; stage: Stage; base?: string; lang: string; onQuick: (d: Deal, k: 'won' | 'lost') => void; onMore: () => void;
}) {
  const { t } = useTranslation('funnel');
  const f = useFormat();
  const { setNodeRef, isOver } = useDroppable({ id: columnId(stage.id) });
  const name = stageName(stage, lang);
  return (
    <section aria-label={name} data-testid={`column-${stage.id}`} style={{ flex: '0 0 272px', background: isOver ? 'var(--c-brand-soft)' : 'var(--c-surface-2, rgba(0,0,0,.03))', borderRadius: 8, padding: 8 }}>
      <header style={{ marginBottom: 8 }}>
        <Space size={6} wrap>
          <Typography.Text strong>{name}</Typography.Text>
          <Tag>{stage.probability}%</Tag>
          {column.rotting > 0 && (
            <Tooltip title={t('rotting', { count: column.rotting })}>
              <Badge count={column.rotting} color="orange" data-testid="column-rotting" />
            </Tooltip>
          )}
        </Space>
        <div data-testid="column-count" style={{ fontSize: 12 }}>{t('count', { count: column.count })}</div>
        {column.totals.map((x) => (
          <div key={x.currency} data-testid="column-total" style={{ fontSize: 12 }}>
            <Typography.Text>{f.money(x.amount, x.currency)}</Typography.Text>{' '}
            <Typography.Text type="secondary">{t('weighted', { amount: f.money(x.weighted, x.currency) })}</Typography.Text>
          </div>
        ))}
        {base && column.amount && column.totals.some((x) => x.currency !== base) && (
          <div data-testid="column-base" style={{ fontSize: 12 }}>
            <Typography.Text strong>{t('inBase', { amount: f.money(column.amount, base) })}</Typography.Text>{' '}
            <Typography.Text type="secondary">{t('weighted', { amount: f.money(column.weighted, base) })}</Typography.Text>
          </div>
        )}
      </header>
      <SortableContext items={column.deals.map((d) => d.id)} strategy={verticalListSortingStrategy}>
        <div ref={setNodeRef} style={{ minHeight: 60, display: 'flex', flexDirection: 'column', gap: 8 }}>
          {column.deals.map((d) => <DealCard key={d.id} deal={d} stage={stage} lang={lang} onQuick={onQuick} />)}
          {column.deals.length === 0 && <Typography.Text type="secondary" style={{ fontSize: 12, padding: 8 }}>{t('empty')}</Typography.Text>}
        </div>
      </SortableContext>
      {column.next_cursor && <Button block size="small" type="link" onClick={onMore}>{t('loadMore')}</Button>}
    </section>
  );
}

function DealCard({ deal, stage, lang, onQuick }: { deal: Deal; stage: Stage; lang: string; onQuick: (d: Deal, k: 'won' | 'lost') => void }) {
  const { t } = useTranslation('funnel');
  const f = useFormat();
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: deal.id });
  const open = stage.kind === 'open';
  // The pointer drags the whole card; the keyboard lifts it by its handle, a
  // focusable element of its own, so the card's buttons are not nested in
  // another control.
  return (
    <Card size="small" ref={setNodeRef} data-testid="deal-card" data-deal={deal.id} onPointerDown={listeners?.onPointerDown as React.PointerEventHandler<HTMLDivElement> | undefined}
      style={{ transform: CSS.Translate.toString(transform), transition, opacity: isDragging ? 0.6 : 1, cursor: 'grab', touchAction: 'none' }}>
      <Space align="start" size={6}>
        <span {...attributes} onKeyDown={listeners?.onKeyDown as React.KeyboardEventHandler<HTMLSpanElement> | undefined} aria-describedby="board-drag-hint" data-testid="deal-handle"
          aria-label={t('dealLabel', { title: deal.title, amount: f.money(deal.amount, deal.currency), stage: stageName(stage, lang) })}
          style={{ cursor: 'grab', padding: '0 2px' }}>
          <HolderOutlined />
        </span>
        <div>
          <Typography.Text strong>{deal.title}</Typography.Text>
          <div style={{ fontSize: 12 }}>{f.money(deal.amount, deal.currency)}</div>
          {deal.expected_close && (
            <div style={{ fontSize: 12 }}><ClockCircleOutlined /> {f.date(deal.expected_close)}</div>
          )}
          {deal.tags.length > 0 && <div>{deal.tags.map((x) => <Tag key={x}>{x}</Tag>)}</div>}
        </div>
      </Space>
      {open && (
        <Space size={4} style={{ marginTop: 4 }}>
          <Button size="small" icon={<CheckOutlined />} onPointerDown={(e) => e.stopPropagation()}
            onClick={() => onQuick(deal, 'won')} data-testid="mark-won">{t('markWon')}</Button>
          <Button size="small" danger icon={<CloseOutlined />} onPointerDown={(e) => e.stopPropagation()}
            onClick={() => onQuick(deal, 'lost')} data-testid="mark-lost">{t('markLost')}</Button>
        </Space>
      )}
    </Card>
  );
}

function LostDialog({ deal, onCancel, onLost }: { deal: Deal | null; onCancel: () => void; onLost: (reason: string, note?: string) => void }) {
  const { t, i18n } = useTranslation('funnel');
  const tenant = useTenant();
  const [form] = Form.useForm<{ reason: string; note?: string }>();
  const reasons = useQuery({
    queryKey: ['tenant', tenant.slug, 'lost-reasons'],
    queryFn: () => get<{ items: LostReason[] }>(tpath(tenant.slug, '/lost-reasons')),
    enabled: !!deal,
    staleTime: 60_000,
  });
  useEffect(() => {
    if (deal) form.resetFields();
  }, [deal, form]);
  return (
    <Modal open={!!deal} title={deal ? t('lostTitle', { title: deal.title }) : ''} onCancel={onCancel} okText={t('markLost')} okButtonProps={{ danger: true, id: 'confirm-lost' }}
      onOk={() => form.validateFields().then((v) => onLost(v.reason, v.note), () => undefined /* the form shows what is missing */)} destroyOnHidden>
      <Form form={form} layout="vertical">
        <Form.Item name="reason" label={t('lostReason')} rules={[{ required: true, message: t('chooseReason') }]}>
          <Select data-testid="lost-reason" placeholder={t('chooseReason')} loading={reasons.isPending}
            options={(reasons.data?.items ?? []).map((r) => ({ value: r.id, label: stageName(r, i18n.language) }))} />
        </Form.Item>
        <Form.Item name="note" label={t('lostNote')}>
          <Input.TextArea rows={2} maxLength={2000} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
