// The pipeline's analytics under the board: a funnel chart, a forecast chart
// and a stage-duration chart, each with its figures as a table too (the text
// alternative, there before the chart's chunk loads), the headline figures,
// and the exchange rates the amounts were converted with. A missing rate
// shows the problem's detail, which names the currency to add.
import './locales';
import { Suspense, lazy, useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Card, Col, Row, Statistic, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import { stageName, type Pipeline } from './board';
import {
  durationOption, forecastOption, funnelOption, openStages, percent,
  type Analytics, type ChartLabels, type Forecast, type RateUsed,
} from './analytics';

const Chart = lazy(() => import('./FunnelChart'));

export default function AnalyticsPanel({ pipeline, owner }: { pipeline: Pipeline; owner?: string }) {
  const { t, i18n } = useTranslation('funnel');
  const tenant = useTenant();
  const f = useFormat();
  const query = { owner };
  const analytics = useQuery({
    queryKey: ['tenant', tenant.slug, 'board', 'analytics', pipeline.id, query],
    queryFn: () => get<Analytics>(tpath(tenant.slug, `/pipelines/${pipeline.id}/analytics`), query),
  });
  const forecast = useQuery({
    queryKey: ['tenant', tenant.slug, 'board', 'forecast', pipeline.id, query],
    queryFn: () => get<Forecast>(tpath(tenant.slug, `/pipelines/${pipeline.id}/forecast`), query),
  });
  const labels: ChartLabels = useMemo(() => ({
    entered: t('an.entered'), weighted: t('an.weighted'), committed: t('an.committed'), bestCase: t('an.bestCase'),
    won: t('an.won'), atStart: t('an.atStart'), days: t('an.days'),
  }), [t]);
  const lang = i18n.language;
  const a = analytics.data;
  const fc = forecast.data;
  const error = analytics.error ?? forecast.error;
  if (error) return <ErrorState error={error} onRetry={() => { analytics.refetch(); forecast.refetch(); }} />;
  if (!a || !fc) return <Loading />;
  const by = new Map(a.stages.map((s) => [s.stage_id, s]));
  const stages = openStages(pipeline.stages);
  const money = (v: string | undefined) => (v === undefined ? '—' : f.money(v, a.currency));
  return (
    <section aria-labelledby="funnel-analytics" data-testid="funnel-analytics" style={{ marginTop: 24 }}>
      <Typography.Title level={2} id="funnel-analytics" style={{ fontSize: 20 }}>{t('an.title')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('an.period', { from: a.from, to: a.to, zone: a.time_zone })}</Typography.Paragraph>
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}><Statistic title={t('an.winRate')} value={percent(a.win_rate)} /></Col>
        <Col xs={12} md={6}><Statistic title={t('an.cycle')} value={t('an.daysValue', { count: Math.round(a.cycle_days * 10) / 10 })} /></Col>
        <Col xs={12} md={6}><Statistic title={t('an.averageWon')} value={money(a.average_won)} /></Col>
        <Col xs={12} md={6}><Statistic title={t('an.wonLost')} value={`${a.won} / ${a.lost}`} /></Col>
      </Row>
      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col xs={24} lg={12}>
          <Card size="small" title={t('an.funnel')}>
            <Suspense fallback={<Loading />}><Chart label={t('an.funnel')} option={funnelOption(a, pipeline.stages, lang, labels)} /></Suspense>
            <Table size="small" pagination={false} rowKey="id" data-testid="funnel-table" dataSource={stages} scroll={{ x: true }}
              columns={[
                { title: t('an.stage'), render: (_, s) => stageName(s, lang) },
                { title: t('an.entered'), align: 'right', render: (_, s) => by.get(s.id)?.entered ?? 0 },
                { title: t('an.conversion'), align: 'right', render: (_, s) => percent(by.get(s.id)?.conversion ?? 0) },
                { title: t('an.days'), align: 'right', render: (_, s) => f.number(by.get(s.id)?.average_days ?? 0, 1) },
              ]} />
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card size="small" title={t('an.duration')}>
            <Suspense fallback={<Loading />}><Chart label={t('an.duration')} option={durationOption(a, pipeline.stages, lang, labels)} /></Suspense>
          </Card>
        </Col>
        <Col xs={24}>
          <Card size="small" title={t('an.forecast')}>
            <Suspense fallback={<Loading />}><Chart label={t('an.forecast')} height={320} option={forecastOption(fc, labels)} /></Suspense>
            <Table size="small" pagination={false} rowKey="month" data-testid="forecast-table" dataSource={fc.months} scroll={{ x: true }}
              columns={[
                { title: t('an.month'), dataIndex: 'month' },
                { title: t('an.weighted'), align: 'right', render: (_, m) => money(m.weighted) },
                { title: t('an.committed'), align: 'right', render: (_, m) => money(m.committed) },
                { title: t('an.bestCase'), align: 'right', render: (_, m) => money(m.best_case) },
                { title: t('an.won'), align: 'right', render: (_, m) => money(m.won) },
                { title: t('an.atStart'), align: 'right', render: (_, m) => (m.past ? money(m.forecast_at_start) : '') },
              ]} />
            {fc.undated > 0 && <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>{t('an.undated', { count: fc.undated })}</Typography.Paragraph>}
          </Card>
        </Col>
      </Row>
      <Typography.Paragraph type="secondary" data-testid="rates-used" style={{ marginTop: 8 }}>
        {ratesText(t, a.currency, [...a.rates, ...fc.rates])}
      </Typography.Paragraph>
    </section>
  );
}

// ratesText says which rates the amounts used, each once.
function ratesText(t: (k: string, o?: Record<string, unknown>) => string, currency: string, rates: RateUsed[]): string {
  const seen = new Set<string>();
  const list = rates.filter((r) => {
    const k = `${r.currency}@${r.valid_from}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }).sort((x, y) => (x.currency + x.valid_from).localeCompare(y.currency + y.valid_from))
    .map((r) => t('an.rate', { currency: r.currency, rate: Number(r.rate), base: currency, from: r.valid_from }));
  return list.length ? t('an.ratesUsed', { currency, list: list.join('; ') }) : t('an.noRates', { currency });
}
