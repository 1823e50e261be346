// Analytics: one metric of any module, over a range of days in the company's
// time zone, as one number or split by a dimension (time among them), against
// the period before. Labels come from the API in both languages.
import './locales';
import { Suspense, lazy, useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, DatePicker, Select, Space, Statistic, Switch, Table, Typography } from 'antd';
import { SaveOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import dayjs, { type Dayjs } from 'dayjs';
import { get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState, Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import { useMembers } from '../customers/api';
import { BUCKETS, change, chartOption, label, showValue, type Metric, type Result, type Row } from './api';
import { CHARTS } from './dashboards';

const Chart = lazy(() => import('../home/Chart'));
const WidgetView = lazy(() => import('./WidgetView'));
const SaveReport = lazy(() => import('./SaveReport'));

/** autoChart is the chart a question gets unless one is picked: a KPI, a line over time, else bars. */
export const autoChart = (dims: string[]) => (dims.length === 0 ? 'kpi' : dims.includes('time') ? 'line' : 'bar');

export default function AnalyticsPage() {
  const { t, i18n } = useTranslation('bi');
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const metrics = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'metrics'],
    queryFn: () => get<{ items: Metric[] }>(tpath(tenant.slug, '/bi/metrics')),
  });
  const [key, setKey] = useState<string>();
  const [dim, setDim] = useState<string>('time');
  const [dim2, setDim2] = useState<string>('');
  const [chart, setChart] = useState<string>('');
  const [saving, setSaving] = useState(false);
  const [bucket, setBucket] = useState<string>('month');
  const [range, setRange] = useState<[Dayjs, Dayjs]>(() => [dayjs().startOf('month').subtract(11, 'month'), dayjs().endOf('month')]);
  const [compare, setCompare] = useState(true);
  const items = metrics.data?.items ?? [];
  const metric = items.find((m) => m.key === key) ?? items[0];
  const lang = i18n.language;

  const question = metric && {
    metric: metric.key,
    dimensions: [dim, dim2].filter(Boolean),
    bucket: dim === 'time' || dim2 === 'time' ? bucket : undefined,
    from: range[0].format('YYYY-MM-DD'),
    to: range[1].format('YYYY-MM-DD'),
    compare,
  };
  const answer = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'query', question],
    queryFn: () => post<Result>(tpath(tenant.slug, '/bi/query'), question),
    enabled: !!question,
    retry: false,
  });

  const dims = metric?.dimensions ?? [];
  const dimLabel = (k: string) => {
    const d = dims.find((x) => x.key === k);
    return d ? label(d, lang) : k;
  };
  const show = (v: string | null | undefined) =>
    showValue(v, metric?.unit, answer.data?.currency, { number: f.number, money: f.money, noValue: t('noValue'), hours: (hours) => t('unit_duration', { hours }) });
  const name = (d: string, v: string) => {
    if (v === '') return t('noneValue');
    if (d === 'time') return f.day(v);
    if (d === 'owner') return members.name(v) ?? v.slice(0, 8);
    return v;
  };
  const r = answer.data;
  const option = useMemo(() => (r && r.dimensions.length ? chartOption(r, { current: t('current'), previous: t('previous') }, name) : null),
    [r, lang, members.items]);
  const summary = r && metric ? t('summary', { metric: label(metric, lang), from: f.day(r.from), to: f.day(r.to), zone: r.time_zone }) : '';

  if (metrics.error) return <ErrorState error={metrics.error} onRetry={() => metrics.refetch()} />;
  if (metrics.isPending) return <Loading />;
  return (
    <div>
      <PageHeader title={t('title')} subtitle={t('subtitle')} />
      <Card style={{ marginBottom: 16 }}>
        <Space wrap align="end">
          <label>
            <div>{t('metric')}</div>
            <Select style={{ minWidth: 260 }} aria-label={t('metric')} value={metric?.key} data-testid="bi-metric"
              onChange={(k: string) => { setKey(k); setDim('time'); setDim2(''); }}
              options={items.map((m) => ({ value: m.key, label: label(m, lang) }))} />
          </label>
          <label>
            <div>{t('dimension')}</div>
            <Select style={{ minWidth: 200 }} aria-label={t('dimension')} value={dim} onChange={(v: string) => { setDim(v); if (!v || v === dim2) setDim2(''); }}
              options={[{ value: '', label: t('none') }, ...dims.map((d) => ({ value: d.key, label: label(d, lang) }))]} />
          </label>
          {dim && (
            <label>
              <div>{t('second_dimension')}</div>
              <Select style={{ minWidth: 180 }} aria-label={t('second_dimension')} value={dim2} onChange={setDim2} data-testid="bi-dim2"
                options={[{ value: '', label: t('none') }, ...dims.filter((d) => d.key !== dim).map((d) => ({ value: d.key, label: label(d, lang) }))]} />
            </label>
          )}
          <label>
            <div>{t('chart_type')}</div>
            <Select style={{ minWidth: 160 }} aria-label={t('chart_type')} value={chart || autoChart(question?.dimensions ?? [])} onChange={setChart} data-testid="bi-chart"
              options={CHARTS.map((c) => ({ value: c, label: t('chart_' + c) }))} />
          </label>
          {(dim === 'time' || dim2 === 'time') && (
            <label>
              <div>{t('bucket')}</div>
              <Select style={{ minWidth: 120 }} aria-label={t('bucket')} value={bucket} onChange={setBucket}
                options={BUCKETS.map((b) => ({ value: b, label: t('bucket_' + b) }))} />
            </label>
          )}
          <label>
            <div>{t('range')}</div>
            <DatePicker.RangePicker aria-label={t('range')} value={range} allowClear={false}
              onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])} />
          </label>
          <Space>
            <Switch checked={compare} onChange={setCompare} aria-label={t('compare')} />
            <span>{t('compare')}</span>
          </Space>
          <Button icon={<SaveOutlined />} onClick={() => setSaving(true)} disabled={!question} data-testid="bi-save-report">{t('save_report')}</Button>
        </Space>
        {metric && <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>{lang.startsWith('zh') ? metric.description_zh : metric.description_en}</Typography.Paragraph>}
      </Card>
      <Card>
        {answer.error ? <ErrorState error={answer.error} onRetry={() => answer.refetch()} /> : !r ? <Loading /> : (
          <div data-testid="bi-answer">
            <Typography.Paragraph>{summary}</Typography.Paragraph>
            {r.previous_from && <Typography.Paragraph type="secondary">{t('previousRange', { from: f.day(r.previous_from), to: f.day(r.previous_to) })}</Typography.Paragraph>}
            {r.dimensions.length === 0 ? <Kpi row={r.rows[0]} show={show} compare={!!r.previous_from} /> : r.rows.length === 0 ? <EmptyState text={t('empty')} /> : (
              <>
                <Suspense fallback={<Loading />}>
                  {(chart && chart !== autoChart(r.dimensions)) || r.dimensions.length === 2
                    ? <WidgetView chart={chart || autoChart(r.dimensions)} result={r} title={summary} height={300} />
                    : option && <Chart option={option} label={summary} />}
                </Suspense>
                <Table<Row> rowKey={(x) => x.keys.join('|')} dataSource={r.rows} pagination={false} size="small" style={{ marginTop: 16 }}
                  scroll={{ x: 480 }}
                  columns={[
                    ...r.dimensions.map((d, i) => ({ title: dimLabel(d), render: (_: unknown, x: Row) => name(d, x.keys[i]) })),
                    { title: t('current'), align: 'right' as const, render: (_: unknown, x: Row) => show(x.value) },
                    ...(r.previous_from ? [
                      { title: t('previous'), align: 'right' as const, render: (_: unknown, x: Row) => show(x.previous) },
                      { title: t('change'), align: 'right' as const, render: (_: unknown, x: Row) => pct(change(x.value, x.previous), f.number) },
                    ] : []),
                  ]} />
              </>
            )}
          </div>
        )}
      </Card>
      {saving && question && (
        <Suspense fallback={null}>
          <SaveReport open={saving} onClose={() => setSaving(false)} metricLabel={metric ? label(metric, lang) : ''}
            question={question} chart={chart || autoChart(question.dimensions)} />
        </Suspense>
      )}
    </div>
  );
}

function pct(v: number | null, fmt: (n: number, d?: number) => string) {
  if (v === null) return '–';
  return `${v > 0 ? '+' : ''}${fmt(v, 1)}%`;
}

function Kpi({ row, show, compare }: { row?: Row; show: (v: string | null | undefined) => string; compare: boolean }) {
  const { t } = useTranslation('bi');
  const f = useFormat();
  if (!row) return <EmptyState text={t('empty')} />;
  return (
    <Space size={48} wrap>
      <Statistic title={t('current')} value={show(row.value)} />
      {compare && <Statistic title={t('previous')} value={show(row.previous)} />}
      {compare && <Statistic title={t('change')} value={pct(change(row.value, row.previous), f.number)} />}
    </Space>
  );
}
