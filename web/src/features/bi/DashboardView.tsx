// A dashboard: its widgets on a 12-column grid, run for the dashboard's range
// or one picked for the view (a preset, or custom days), with its global
// filters, refreshed on a timer; each widget says how fresh its numbers are.
// Whoever may change the dashboard edits its filters and, in layout mode,
// moves and resizes widgets with the mouse (handles) or the keyboard (arrow
// keys, Shift to resize), adds and removes reports, and saves the grid. Any
// member subscribes to it by email.
import './locales';
import './dashboard.css';
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Dropdown, Input, Select, Space, Tooltip, Typography } from 'antd';
import { CloseOutlined, DownloadOutlined, DragOutlined, EditOutlined, ReloadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { errorMessage, get, post, put, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { usePhone } from '../../app/useMedia';
import { EmptyState, ErrorState, Loading } from '../../app/states';
import WidgetView from './WidgetView';
import DashboardFilters from './DashboardFilters';
import SubscribeDashboard from './SubscribeDashboard';
import { freshness, type Result } from './api';
import {
  COLS, PRESETS, REFRESHES, addWidget, dashboardBody, exportURL, moveWidget, nameOf, removeWidget, resizeWidget, runParams,
  type Dashboard, type DashboardResult, type Filter, type Report, type Widget, type WidgetResult,
} from './dashboards';

const ROW = 64; // px per grid row
const GAP = 12;

export default function DashboardView({ id, compact }: { id: string; compact?: boolean }) {
  const { t, i18n } = useTranslation('bi');
  const lang = i18n.language;
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const phone = usePhone();
  const key = ['tenant', tenant.slug, 'bi', 'dashboard', id];
  const dash = useQuery({ queryKey: key, queryFn: () => get<Dashboard>(tpath(tenant.slug, `/bi/dashboards/${id}`)) });
  const [preset, setPreset] = useState('');
  const [days, setDays] = useState({ from: '', to: '' });
  const params = runParams(preset, days.from, days.to);
  const [refresh, setRefresh] = useState<number | null>(null);
  const every = refresh ?? dash.data?.refresh_seconds ?? 0;
  const run = useQuery({
    queryKey: [...key, 'run', preset, params?.from ?? '', params?.to ?? ''],
    queryFn: () => post<DashboardResult>(tpath(tenant.slug, `/bi/dashboards/${id}/run`), undefined, params ?? undefined),
    enabled: !!dash.data && params !== null,
    refetchInterval: every > 0 ? every * 1000 : false,
    retry: false,
  });
  const [draft, setDraft] = useState<Widget[] | null>(null);
  const editing = draft !== null;
  const reports = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'reports'],
    queryFn: () => get<{ items: Report[] }>(tpath(tenant.slug, '/bi/reports'), { limit: 200 }),
    enabled: editing,
  });
  const save = useMutation({
    mutationFn: (ws: Widget[]) => put<Dashboard>(tpath(tenant.slug, `/bi/dashboards/${id}`), dashboardBody(dash.data!, { widgets: ws })),
    onSuccess: (d) => {
      qc.setQueryData(key, d);
      setDraft(null);
      message.success(t('layout_saved'));
      void qc.invalidateQueries({ queryKey: [...key, 'run'] });
    },
    onError: (err) => message.error(errorMessage(err)),
  });
  const saveFilters = useMutation({
    mutationFn: (filters: Filter[]) => put<Dashboard>(tpath(tenant.slug, `/bi/dashboards/${id}`), dashboardBody(dash.data!, { filters })),
    onSuccess: (d) => {
      qc.setQueryData(key, d);
      message.success(t('filters_saved'));
      void qc.invalidateQueries({ queryKey: [...key, 'run'] });
    },
    onError: (err) => message.error(errorMessage(err)),
  });
  const [said, setSaid] = useState('');

  if (dash.error) return <ErrorState error={dash.error} onRetry={() => dash.refetch()} />;
  if (!dash.data) return <Loading />;
  const d = dash.data;
  const widgets = draft ?? d.widgets;
  const results: (WidgetResult | undefined)[] = d.widgets.map((w, i) => {
    const r = run.data?.widgets[i];
    return r && r.report_id === w.report_id ? r : undefined;
  });
  // A widget keeps its numbers while the draft moves it: match by report and occurrence.
  const resultOf = (i: number): WidgetResult | undefined => {
    const w = widgets[i];
    const nth = widgets.slice(0, i).filter((x) => x.report_id === w.report_id).length;
    let seen = 0;
    for (let k = 0; k < d.widgets.length; k++) {
      if (d.widgets[k].report_id !== w.report_id) continue;
      if (seen++ === nth) return results[k];
    }
    return undefined;
  };
  const reportName = (rid: string) => {
    const r = reports.data?.items.find((x) => x.id === rid);
    return r ? nameOf(r, lang) : '';
  };
  const announce = (ws: Widget[], i: number) => {
    const w = ws[i];
    setSaid(t('moved_to', { name: nameOf(resultOf(i) ?? {}, lang) || reportName(w.report_id), x: w.x + 1, y: w.y + 1, w: w.w, h: w.h }));
  };
  const asOf = run.data ? t('as_of', { time: f.dateTime(run.data.as_of) }) : '';
  const rows = widgets.reduce((m, w) => Math.max(m, w.y + w.h), 0);
  const fresh = (r: Result) => {
    const x = freshness(r);
    return x.kind === 'rollup' ? t('fresh_rollup', { time: x.time }) : t('fresh_records');
  };

  return (
    <div data-testid="bi-dashboard">
      <Space wrap style={{ marginBottom: 12 }} align="center">
        <Select aria-label={t('range')} style={{ minWidth: 200 }} virtual={false} value={preset} onChange={setPreset} data-testid="bi-range"
          options={[{ value: '', label: t('range_own') + (d.range?.preset ? ` (${t('preset_' + d.range.preset)})` : '') },
            ...PRESETS.map((p) => ({ value: p, label: t('preset_' + p) })), { value: 'custom', label: t('preset_custom') }]} />
        {preset === 'custom' && (
          <Space size={4} wrap data-testid="bi-custom-range">
            <Input type="date" aria-label={t('range_from')} value={days.from} max={days.to || undefined} style={{ width: 150 }}
              onChange={(e) => setDays((x) => ({ ...x, from: e.target.value }))} data-testid="bi-range-from" />
            <span aria-hidden>–</span>
            <Input type="date" aria-label={t('range_to')} value={days.to} min={days.from || undefined} style={{ width: 150 }}
              onChange={(e) => setDays((x) => ({ ...x, to: e.target.value }))} data-testid="bi-range-to" />
            {params === null && <Typography.Text type="secondary" role="status">{t('range_custom_hint')}</Typography.Text>}
          </Space>
        )}
        <Select aria-label={t('auto_refresh')} style={{ minWidth: 160 }} value={every} onChange={setRefresh}
          options={[...new Set([...REFRESHES, d.refresh_seconds])].map((s) => ({ value: s, label: `${t('auto_refresh')}: ${t('refresh_' + s, { defaultValue: `${s}s` })}` }))} />
        <Button icon={<ReloadOutlined />} onClick={() => run.refetch()} loading={run.isFetching}>{t('refresh')}</Button>
        {!compact && !editing && !phone && d.can_edit && <Button icon={<EditOutlined />} onClick={() => setDraft(d.widgets)} data-testid="bi-edit-layout">{t('edit_layout')}</Button>}
        {!compact && !editing && <SubscribeDashboard id={id} name={nameOf(d, lang)} />}
        {editing && (
          <>
            <Select showSearch optionFilterProp="label" style={{ minWidth: 260 }} aria-label={t('add_report')} placeholder={t('add_report_placeholder')} value={null}
              loading={reports.isPending} data-testid="bi-add-report"
              onChange={(rid: string) => {
                const r = reports.data?.items.find((x) => x.id === rid);
                setDraft(addWidget(widgets, rid, r?.chart ?? 'bar'));
              }}
              options={(reports.data?.items ?? []).map((r) => ({ value: r.id, label: nameOf(r, lang) }))} />
            <Button type="primary" onClick={() => save.mutate(widgets)} loading={save.isPending} data-testid="bi-save-layout">{t('save_layout')}</Button>
            <Button onClick={() => setDraft(null)}>{t('cancel')}</Button>
          </>
        )}
        {asOf && <Typography.Text type="secondary" data-testid="bi-as-of">{asOf}</Typography.Text>}
      </Space>
      {!compact && (d.filters?.length > 0 || d.can_edit) && (
        <DashboardFilters filters={d.filters ?? []} results={results} canEdit={!!d.can_edit && !editing} saving={saveFilters.isPending}
          onSave={(f) => saveFilters.mutateAsync(f)} />
      )}
      {editing && <Typography.Paragraph type="secondary">{t('layout_help')}</Typography.Paragraph>}
      {!editing && widgets.length > 0 && <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>{t('drill_hint')}</Typography.Paragraph>}
      <div aria-live="polite" className="sr-only">{said}</div>
      {run.error && <ErrorState error={run.error} onRetry={() => run.refetch()} />}
      {widgets.length === 0 ? <EmptyState text={t('no_widgets')} /> : (
        <Grid widgets={widgets} rows={rows} phone={phone} editing={editing}
          onChange={(ws, i) => { setDraft(ws); announce(ws, i); }}
          render={(w, i, handles) => {
            const wr = resultOf(i);
            const title = nameOf(wr ?? {}, lang) || reportName(w.report_id) || '…';
            return (
              <Card size="small" className="bi-widget" title={<span title={title}>{title}</span>} data-testid="bi-widget"
                styles={{ body: { flex: 1, minHeight: 0, display: 'flex', flexDirection: 'column' } }}
                extra={editing ? (
                  <Space size={4}>
                    {handles.move}
                    <Tooltip title={t('remove_widget', { name: title })}>
                      <Button size="small" type="text" icon={<CloseOutlined />} aria-label={t('remove_widget', { name: title })}
                        onClick={() => setDraft(removeWidget(widgets, i))} />
                    </Tooltip>
                  </Space>
                ) : wr?.result ? (
                  <Dropdown trigger={['click']} menu={{ items: [
                    { key: 'xlsx', label: <a href={exportURL(tenant.slug, w.report_id, 'xlsx', id)} download>{t('export_xlsx')}</a> },
                    { key: 'png', label: <a href={exportURL(tenant.slug, w.report_id, 'png', id)} download>{t('export_png')}</a> },
                  ] }}>
                    <Button size="small" type="text" icon={<DownloadOutlined />} aria-label={`${t('export')}: ${title}`} data-testid="bi-export" />
                  </Dropdown>
                ) : null}>
                {!wr ? (editing && !run.isPending ? <Typography.Text type="secondary">{t('not_saved_yet')}</Typography.Text> : <Loading />)
                  : wr.error ? <Typography.Text type="secondary">{t('widget_problem', { reason: wr.error })}</Typography.Text>
                  : wr.result ? (
                    <>
                      <div style={{ flex: 1, minHeight: 0 }}><WidgetView chart={wr.chart ?? 'bar'} result={wr.result} title={title} height={phone ? 260 : Math.max(w.h * (ROW + GAP) - GAP - 84, 60)} /></div>
                      <Typography.Text type="secondary" className="bi-fresh" data-testid="bi-fresh">{fresh(wr.result)}</Typography.Text>
                    </>
                  ) : null}
                {editing && handles.resize}
              </Card>
            );
          }} />
      )}
    </div>
  );
}

interface Handles {
  move: React.ReactNode;
  resize: React.ReactNode;
}

/**
 * Grid lays the widgets out on 12 columns of ROW-high rows (one column on a
 * phone). Dragging a widget's handle moves it by whole cells, its corner
 * resizes it; the arrow keys on the handle do the same.
 */
function Grid({ widgets, rows, phone, editing, onChange, render }: {
  widgets: Widget[]; rows: number; phone: boolean; editing: boolean;
  onChange: (ws: Widget[], i: number) => void;
  render: (w: Widget, i: number, h: Handles) => React.ReactNode;
}) {
  const { t, i18n } = useTranslation('bi');
  const el = useRef<HTMLDivElement>(null);
  const drag = useRef<{ i: number; kind: 'move' | 'resize'; x0: number; y0: number; start: Widget[] } | null>(null);
  const latest = useRef(widgets);
  latest.current = widgets;
  useEffect(() => () => { drag.current = null; }, []);
  const cell = () => {
    const w = el.current?.clientWidth ?? 1200;
    return { cw: (w + GAP) / COLS, rh: ROW + GAP };
  };
  const pointerDown = (i: number, kind: 'move' | 'resize') => (e: React.PointerEvent) => {
    e.preventDefault();
    (e.target as HTMLElement).setPointerCapture?.(e.pointerId);
    drag.current = { i, kind, x0: e.clientX, y0: e.clientY, start: latest.current };
  };
  const pointerMove = (e: React.PointerEvent) => {
    const g = drag.current;
    if (!g) return;
    const { cw, rh } = cell();
    const dx = Math.round((e.clientX - g.x0) / cw);
    const dy = Math.round((e.clientY - g.y0) / rh);
    const w = g.start[g.i];
    const next = g.kind === 'move' ? moveWidget(g.start, g.i, w.x + dx, w.y + dy) : resizeWidget(g.start, g.i, w.w + dx, w.h + dy);
    const cur = latest.current[g.i];
    if (next[g.i].x !== cur.x || next[g.i].y !== cur.y || next[g.i].w !== cur.w || next[g.i].h !== cur.h) onChange(next, g.i);
  };
  const pointerUp = () => { drag.current = null; };
  const key = (i: number) => (e: React.KeyboardEvent) => {
    const step: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const s = step[e.key];
    if (!s) return;
    e.preventDefault();
    const w = widgets[i];
    onChange(e.shiftKey ? resizeWidget(widgets, i, w.w + s[0], w.h + s[1]) : moveWidget(widgets, i, w.x + s[0], w.y + s[1]), i);
  };
  void i18n;
  return (
    <div ref={el} className={`bi-grid${editing ? ' bi-grid-editing' : ''}`} onPointerMove={pointerMove} onPointerUp={pointerUp} onPointerCancel={pointerUp}
      style={phone ? undefined : { gridTemplateColumns: `repeat(${COLS}, minmax(0, 1fr))`, gridAutoRows: ROW, gap: GAP, minHeight: editing ? (rows + 4) * (ROW + GAP) : undefined }}>
      {widgets.map((w, i) => {
        const name = `#${i + 1}`;
        const handles: Handles = {
          move: (
            <button type="button" className="bi-handle" aria-label={t('move_widget', { name })} data-testid="bi-move"
              onPointerDown={pointerDown(i, 'move')} onKeyDown={key(i)}>
              <DragOutlined aria-hidden />
            </button>
          ),
          resize: <span className="bi-resize" aria-hidden title={t('resize_widget', { name })} onPointerDown={pointerDown(i, 'resize')} data-testid="bi-resize" />,
        };
        return (
          <div key={`${w.report_id}-${i}`} className="bi-cell-wrap"
            style={phone ? undefined : { gridColumn: `${w.x + 1} / span ${w.w}`, gridRow: `${w.y + 1} / span ${w.h}` }}>
            {render(w, i, handles)}
          </div>
        );
      })}
    </div>
  );
}
