// One widget's numbers, drawn as its report's chart: a KPI with its change, a
// chart (lines, areas, bars, a pie, a funnel, a heatmap), a table or a pivot.
// A point, a row or a cell opens the records behind it (drill-down).
import './locales';
import { Suspense, lazy, useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Statistic, Table, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { useFormat } from '../../app/useFormat';
import { EmptyState, Loading } from '../../app/states';
import { useMembers } from '../customers/api';
import { useTenant } from '../../app/session';
import { get, tpath } from '../../app/api';
import type { Pipeline } from '../funnel/board';
import { change, num, showValue, type Result, type Row } from './api';
import { drillLink, pivot, pointKeys, widgetOption } from './dashboards';
import type { ChartPoint } from '../home/Chart';

const Chart = lazy(() => import('./chartsExtra').then(() => import('../home/Chart')));

/** useShow formats a value in the result's unit, and a dimension value by its name. */
export function useShow(r?: Result) {
  const { t, i18n } = useTranslation('bi');
  const f = useFormat();
  const tenant = useTenant();
  const members = useMembers(tenant.slug);
  // Stages and pipelines are counted by id: their names come from the pipelines.
  const pipelines = useQuery({
    queryKey: ['tenant', tenant.slug, 'pipelines'],
    queryFn: () => get<{ items: Pipeline[] }>(tpath(tenant.slug, '/pipelines')),
    staleTime: 60_000,
    retry: false,
    enabled: !!r?.dimensions.some((d) => d === 'stage' || d === 'pipeline'),
  });
  const zh = i18n.language.startsWith('zh');
  const named = (x: { name_en: string; name_zh: string }) => (zh ? x.name_zh || x.name_en : x.name_en || x.name_zh);
  const stageName = (id: string) => {
    for (const p of pipelines.data?.items ?? []) {
      const s = p.stages.find((x) => x.id === id);
      if (s) return named(s);
    }
    return undefined;
  };
  const show = (v: string | null | undefined) =>
    showValue(v, r?.unit, r?.currency, { number: f.number, money: f.money, noValue: t('noValue'), hours: (hours) => t('unit_duration', { hours }) });
  const name = (d: string, v: string) => {
    if (v === '') return t('noneValue');
    if (d === 'time') return f.day(v);
    if (d === 'owner') return members.name(v) ?? v.slice(0, 8);
    if (d === 'stage') return stageName(v) ?? v.slice(0, 8);
    if (d === 'pipeline') {
      const p = pipelines.data?.items.find((x) => x.id === v);
      return p ? named(p) : v.slice(0, 8);
    }
    return v;
  };
  // names changes when the names behind the ids arrive.
  return { show, name, names: [members.items, pipelines.data] as const };
}

const pct = (v: number | null, fmt: (n: number, d?: number) => string) => (v === null ? '–' : `${v > 0 ? '+' : ''}${fmt(v, 1)}%`);

export default function WidgetView({ chart, result: r, title, height = 260 }: { chart: string; result: Result; title: string; height?: number | string }) {
  const { t, i18n } = useTranslation('bi');
  const f = useFormat();
  const nav = useNavigate();
  const tenant = useTenant();
  const { show, name, names } = useShow(r);
  const base = `/t/${tenant.slug}`;
  const drill = (keys: Record<string, string> | null) => {
    if (!keys) return;
    const to = drillLink(base, r.metric, keys, r);
    if (to) nav(to);
  };
  const option = useMemo(() => widgetOption(chart, r, { current: t('current'), previous: t('previous'), name }), [chart, r, i18n.language, ...names]);
  const compared = !!r.previous_from;

  if (r.dimensions.length === 0 || chart === 'kpi') {
    const row = r.dimensions.length === 0 ? r.rows[0] : undefined;
    if (!row) return <KpiTotal r={r} show={show} />;
    const d = change(row.value, row.previous);
    return (
      <div className="bi-kpi" data-testid="bi-kpi">
        <Statistic title={null} value={show(row.value)} valueStyle={{ fontSize: 30 }} />
        {compared && (
          <Typography.Text type={d === null ? 'secondary' : d >= 0 ? 'success' : 'danger'}>
            {d !== null && <>{d >= 0 ? <ArrowUpOutlined aria-hidden /> : <ArrowDownOutlined aria-hidden />} {pct(d, f.number)}{' '}</>}
            <Typography.Text type="secondary">{t('previous')}: {show(row.previous)}</Typography.Text>
          </Typography.Text>
        )}
      </div>
    );
  }
  if (r.rows.length === 0) return <EmptyState text={t('empty')} />;
  if (chart === 'pivot') {
    const p = pivot(r)!;
    return (
      <div className="bi-scroll">
        <table className="bi-pivot" data-testid="bi-pivot">
          <thead>
            <tr>
              <th scope="col">{p.rowDim}{p.colDim ? ` \\ ${p.colDim}` : ''}</th>
              {p.cols.map((c) => <th scope="col" key={c}>{p.colDim ? name(p.colDim, c) : t('value')}</th>)}
            </tr>
          </thead>
          <tbody>
            {p.rows.map((rk, i) => (
              <tr key={rk}>
                <th scope="row">{name(p.rowDim, rk)}</th>
                {p.cols.map((ck, j) => (
                  <td key={ck}>
                    <button type="button" className="bi-cell" onClick={() => drill({ [p.rowDim]: rk, ...(p.colDim ? { [p.colDim]: ck } : {}) })}
                      aria-label={t('drill_open', { what: [name(p.rowDim, rk), p.colDim ? name(p.colDim, ck) : ''].filter(Boolean).join(', ') })}>
                      {show(p.cells[i][j])}
                    </button>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  if (chart === 'table' || !option) {
    return (
      <Table<Row> rowKey={(x) => x.keys.join('|')} dataSource={r.rows} pagination={false} size="small" scroll={{ x: 360, y: typeof height === 'number' ? height - 40 : undefined }}
        data-testid="bi-table" rowClassName={() => 'bi-drill-row'}
        onRow={(x) => ({
          onClick: () => drill(Object.fromEntries(r.dimensions.map((d, i) => [d, x.keys[i] ?? '']))),
          onKeyDown: (e) => {
            if (e.key === 'Enter') drill(Object.fromEntries(r.dimensions.map((d, i) => [d, x.keys[i] ?? ''])));
          },
          tabIndex: 0,
          'aria-label': t('drill_open', { what: r.dimensions.map((d, i) => name(d, x.keys[i] ?? '')).join(', ') }),
        }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          ...r.dimensions.map((d, i) => ({ title: d, key: d, render: (_: unknown, x: Row) => name(d, x.keys[i] ?? '') })),
          { title: t('current'), key: 'v', align: 'right' as const, render: (_: unknown, x: Row) => show(x.value) },
          ...(compared ? [{ title: t('change'), key: 'c', align: 'right' as const, render: (_: unknown, x: Row) => pct(change(x.value, x.previous), f.number) }] : []),
        ]} />
    );
  }
  const onPoint = (p: ChartPoint) => {
    if (chart === 'heatmap' && Array.isArray(p.value)) return drill(pointKeys(r, Number(p.value[0]), Number(p.value[1])));
    if (chart === 'pie' || chart === 'funnel') return drill(pointKeys(r, p.dataIndex, -1));
    drill(pointKeys(r, p.dataIndex, p.seriesIndex));
  };
  return (
    <Suspense fallback={<Loading />}>
      <Chart option={option} label={title} height={height} onPoint={onPoint} />
    </Suspense>
  );
}

function KpiTotal({ r, show }: { r: Result; show: (v: string | null | undefined) => string }) {
  const { t } = useTranslation('bi');
  // A KPI of a split answer shows the sum of its rows (counts and money add up).
  const total = r.rows.reduce((a, x) => a + (num(x.value) ?? 0), 0);
  return <Statistic title={t('total')} value={show(String(total))} />;
}
