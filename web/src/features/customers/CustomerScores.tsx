// The customer's RFM scores, segment and churn risk with its reasons, as the
// last scoring run (nightly) left them.
import './locales';
import { useQuery } from '@tanstack/react-query';
import { Card, Descriptions, Empty, List, Progress, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError, get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';

interface Reason {
  code: string;
  points: number;
  value: number;
  label_en: string;
  label_zh: string;
}

interface Score {
  recency?: number;
  frequency?: number;
  monetary?: number;
  segment?: string;
  segment_label_en?: string;
  segment_label_zh?: string;
  purchases: number;
  revenue: string;
  churn_risk: number;
  reasons: Reason[];
  computed_at: string;
}

const SEGMENT_COLOR: Record<string, string> = {
  champions: 'gold', loyal: 'green', potential: 'cyan', new: 'blue', at_risk: 'orange', hibernating: 'default', lost: 'red',
};

export function CustomerScores({ id }: { id: string }) {
  const { t, i18n } = useTranslation('customers');
  const tenant = useTenant();
  const fmt = useFormat();
  const zh = i18n.language.startsWith('zh');
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'customer', id, 'scores'],
    queryFn: () => get<Score>(tpath(tenant.slug, `/customers/${id}/scores`)),
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 2,
  });
  if (q.isLoading) return <Card title={t('scores.title')}><Loading /></Card>;
  if (q.error instanceof ApiError && q.error.status === 404) {
    return <Card title={t('scores.title')}><Empty description={t('scores.none')} /></Card>;
  }
  if (q.error || !q.data) return <Card title={t('scores.title')}><ErrorState error={q.error} /></Card>;
  const s = q.data;
  const risk = s.churn_risk;
  return (
    <Card title={t('scores.title')} style={{ marginTop: 16 }} data-testid="customer-scores">
      <Descriptions column={1} size="small">
        <Descriptions.Item label={t('scores.segment')}>
          {s.segment ? <Tag color={SEGMENT_COLOR[s.segment]}>{zh ? s.segment_label_zh : s.segment_label_en}</Tag> : <Typography.Text type="secondary">{t('scores.noPurchases')}</Typography.Text>}
        </Descriptions.Item>
        {s.recency && (
          <Descriptions.Item label="R · F · M">{`${s.recency} · ${s.frequency} · ${s.monetary}`}</Descriptions.Item>
        )}
        <Descriptions.Item label={t('scores.purchases')}>{s.purchases}</Descriptions.Item>
        <Descriptions.Item label={t('scores.revenue')}>{fmt.money(s.revenue)}</Descriptions.Item>
        <Descriptions.Item label={t('scores.churnRisk')}>
          <Progress aria-label={t('scores.churnRisk')} percent={risk} size="small" status={risk >= 70 ? 'exception' : 'normal'} strokeColor={risk >= 70 ? undefined : risk >= 40 ? '#fa8c16' : '#52c41a'} format={(p) => `${p}`} />
        </Descriptions.Item>
      </Descriptions>
      {s.reasons.length > 0 && (
        <List size="small" header={t('scores.why')} dataSource={s.reasons}
          renderItem={(r) => <List.Item extra={`+${r.points}`}>{zh ? r.label_zh : r.label_en}</List.Item>} />
      )}
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('scores.computed', { at: fmt.dateTime(s.computed_at) })}</Typography.Text>
    </Card>
  );
}
