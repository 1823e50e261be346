// The company's overview: headline numbers and two charts from
// GET /customers/stats, then the company's sales overview dashboard. A company without the statistics (404) or without
// customers gets an empty state that says what to do next.
import { Suspense, lazy, useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, Col, Empty, Row, Space, Statistic } from 'antd';
import { CheckSquareOutlined, ExclamationCircleOutlined, RiseOutlined, TeamOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import './locales';

const Chart = lazy(() => import('./Chart'));
// The first provisioned dashboard (sales overview) follows the headline numbers.
const OverviewDashboard = lazy(() => import('../bi/OverviewDashboard'));

export interface Stats {
  total: number;
  by_lifecycle: { lifecycle: string; count: number }[];
  created_by_week: { week: string; count: number }[];
  open_tasks: number;
  overdue_tasks: number;
}

const STAGE_COLORS: Record<string, string> = { lead: '#7aa2f7', prospect: '#1f4fd6', customer: '#2f9e44', at_risk: '#e8890c', churned: '#c92a2a', none: '#adb5bd' };

export default function OverviewPage() {
  const { t } = useTranslation('home');
  const tenant = useTenant();
  const f = useFormat();
  const q = useQuery<Stats | null, Error>({
    queryKey: ['tenant', tenant.slug, 'customers', 'stats'],
    queryFn: async () => {
      try {
        return await get<Stats>(tpath(tenant.slug, '/customers/stats'));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null; // not available here
        throw e;
      }
    },
  });
  const s = q.data;
  const lifecycleOption = useMemo(() => {
    if (!s) return null;
    const rows = s.by_lifecycle.filter((r) => r.count > 0);
    return {
      tooltip: { trigger: 'item' },
      legend: { bottom: 0 },
      series: [
        {
          type: 'pie',
          radius: ['45%', '70%'],
          center: ['50%', '45%'],
          label: { formatter: '{b}: {c}' },
          data: rows.map((r) => ({ name: t(`lifecycle.${r.lifecycle || 'none'}`, { defaultValue: r.lifecycle }), value: r.count, itemStyle: { color: STAGE_COLORS[r.lifecycle || 'none'] } })),
        },
      ],
    };
  }, [s, t]);
  const weekOption = useMemo(() => {
    if (!s) return null;
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 40, right: 16, top: 16, bottom: 32 },
      xAxis: { type: 'category', data: s.created_by_week.map((w) => f.day(w.week, { month: 'short', day: 'numeric' })) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: t('newCustomers'), type: 'bar', data: s.created_by_week.map((w) => w.count), itemStyle: { color: '#3b6cf0', borderRadius: [4, 4, 0, 0] } }],
    };
  }, [s, t, f]);

  // The charts' text alternative: one sentence, and every number in a table.
  const lifecycleRows: [string, string][] = (s?.by_lifecycle ?? []).filter((r) => r.count > 0).map((r) => [t(`lifecycle.${r.lifecycle || 'none'}`, { defaultValue: r.lifecycle }), f.number(r.count)]);
  const staged = (s?.by_lifecycle ?? []).filter((r) => r.count > 0);
  const top = [...staged].sort((a, b) => b.count - a.count)[0];
  const stagedTotal = staged.reduce((n, r) => n + r.count, 0);
  const lifecycleSummary = top
    ? t('summaryLifecycle', { total: f.number(stagedTotal), top: t(`lifecycle.${top.lifecycle || 'none'}`, { defaultValue: top.lifecycle }), n: f.number(top.count), pct: Math.round((top.count / stagedTotal) * 100) })
    : t('byLifecycle');
  const weeks = s?.created_by_week ?? [];
  const weekRows: [string, string][] = weeks.map((w) => [f.day(w.week, { year: 'numeric', month: 'short', day: 'numeric' }), f.number(w.count)]);
  const busiest = [...weeks].sort((a, b) => b.count - a.count)[0];
  const weekSummary = busiest
    ? t('summaryWeek', { total: f.number(weeks.reduce((n, w) => n + w.count, 0)), week: f.day(busiest.week, { month: 'short', day: 'numeric' }), n: f.number(busiest.count), last: f.number(weeks.at(-1)?.count ?? 0) })
    : t('byWeek');

  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => q.refetch()} />;
  const thisWeek = s?.created_by_week.at(-1)?.count ?? 0;
  return (
    <div data-testid="overview">
      <h1 style={{ marginTop: 0, marginBottom: 4, fontSize: 30, fontWeight: 600 }}>{t('title')}</h1>
      <p style={{ color: 'var(--c-text-2)', marginTop: 0, marginBottom: 16 }}>{t('subtitle', { name: tenant.name })}</p>
      {!s ? (
        <Card>
          <Empty description={t('unavailable')} />
        </Card>
      ) : (
        <>
          <Row gutter={[16, 16]}>
            <Col xs={12} lg={6}>
              <Card>
                <Statistic title={t('total')} value={f.number(s.total)} prefix={<TeamOutlined />} />
              </Card>
            </Col>
            <Col xs={12} lg={6}>
              <Card>
                <Statistic title={t('customersThisWeek')} value={f.number(thisWeek)} prefix={<RiseOutlined />} />
              </Card>
            </Col>
            <Col xs={12} lg={6}>
              <Card>
                <Statistic title={t('openTasks')} value={f.number(s.open_tasks)} prefix={<CheckSquareOutlined />} />
              </Card>
            </Col>
            <Col xs={12} lg={6}>
              <Card>
                <Statistic
                  title={t('overdue')}
                  value={f.number(s.overdue_tasks)}
                  prefix={<ExclamationCircleOutlined />}
                  valueStyle={s.overdue_tasks > 0 ? { color: 'var(--c-bad)' } : undefined}
                />
              </Card>
            </Col>
          </Row>
          {s.total === 0 ? (
            <Card style={{ marginTop: 16 }}>
              <Empty
                description={
                  <>
                    <strong style={{ display: 'block', fontSize: 18, margin: '8px 0', color: 'var(--c-text)' }}>{t('emptyTitle')}</strong>
                    <span style={{ color: 'var(--c-text-2)' }}>{t('emptyText')}</span>
                  </>
                }
              >
                <Space>
                  <Link to={`/t/${tenant.slug}/customers`}>
                    <Button type="primary">{t('addCustomer')}</Button>
                  </Link>
                  <Link to={`/t/${tenant.slug}/imports/new`}>
                    <Button>{t('importCsv')}</Button>
                  </Link>
                </Space>
              </Empty>
            </Card>
          ) : (
            <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
              <Col xs={24} lg={10}>
                <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('byLifecycle')}</h2>}>
                  <Suspense fallback={<Loading />}>{lifecycleOption && <Chart option={lifecycleOption} label={lifecycleSummary} />}</Suspense>
                  <ChartText summary={lifecycleSummary} head={[t('stage'), t('count')]} rows={lifecycleRows} testId="chart-lifecycle" />
                </Card>
              </Col>
              <Col xs={24} lg={14}>
                <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t('byWeek')}</h2>}>
                  <Suspense fallback={<Loading />}>{weekOption && <Chart option={weekOption} label={weekSummary} />}</Suspense>
                  <ChartText summary={weekSummary} head={[t('week'), t('count')]} rows={weekRows} testId="chart-week" />
                </Card>
              </Col>
            </Row>
          )}
        </>
      )}
      <Suspense fallback={null}>
        <OverviewDashboard />
      </Suspense>
    </div>
  );
}

/** ChartText is a chart's text alternative: a summary on screen and the numbers in a table. */
function ChartText({ summary, head, rows, testId }: { summary: string; head: [string, string]; rows: [string, string][]; testId: string }) {
  const { t } = useTranslation();
  return (
    <div data-testid={testId}>
      <p style={{ margin: '8px 0 0', color: 'var(--c-text-2)' }}>{summary}</p>
      <details className="chart-data">
        <summary>{t('chart.table')}</summary>
        <div className="scroll-x">
          <table>
            <thead>
              <tr>
                <th scope="col">{head[0]}</th>
                <th scope="col" className="num">{head[1]}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row" style={{ fontWeight: 'normal' }}>{k}</th>
                  <td className="num">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}
