// The satisfaction survey a solved ticket's requester opens from their mail:
// no sign-in, in the company's language, rated once.
import './locales';
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Input, Rate, Result, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router-dom';
import { ApiError, get, post } from '../../app/api';
import { Loading } from '../../app/states';
import { type Survey, publicPath, uiLanguage } from './api';

/** refusal names what a refused survey request means for the requester. */
export function refusal(err: unknown): string {
  const status = err instanceof ApiError ? err.status : 0;
  return ({ 404: 'csat_invalid', 409: 'csat_rated', 410: 'csat_expired', 429: 'csat_limited' } as Record<number, string>)[status] ?? 'csat_invalid';
}

/** pageTitle makes the card's title the page's level-one heading without changing how it looks. */
const pageTitle = { fontSize: 'inherit', fontWeight: 'inherit', lineHeight: 'inherit', margin: 0 } as const;

export default function CsatPage() {
  const { t, i18n } = useTranslation('tickets');
  const { tenant = '', token = '' } = useParams();
  const path = publicPath(tenant, `/csat/${encodeURIComponent(token)}`);
  const survey = useQuery({ queryKey: ['public', tenant, 'csat', token], queryFn: () => get<Survey>(path), retry: false, staleTime: Infinity });
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState('');
  const rate = useMutation({ mutationFn: () => post<Survey>(path, { rating, comment: comment.trim() || undefined }) });
  useEffect(() => {
    if (survey.data) void i18n.changeLanguage(uiLanguage(survey.data.locale));
  }, [survey.data, i18n]);

  let body;
  if (survey.isPending) body = <Loading />;
  else if (survey.error) body = <Result status={refusal(survey.error) === 'csat_expired' ? 'warning' : 'info'} title={t(refusal(survey.error))} data-testid="csat-refused" />;
  else if (rate.isSuccess || survey.data.rated) body = <Result status="success" title={t(rate.isSuccess ? 'csat_thanks' : 'csat_rated')} data-testid="csat-done" />;
  else {
    const s = survey.data;
    body = (
      <Space direction="vertical" size="large" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('csat_ticket', { number: s.number, subject: s.subject })}</Typography.Text>
        <Typography.Paragraph>{t('csat_ask', { company: s.company })}</Typography.Paragraph>
        <Rate value={rating} onChange={setRating} tooltips={[1, 2, 3, 4, 5].map((n) => t('csat_star_' + n))} aria-label={t('csatRating')} data-testid="csat-rate" />
        <Input.TextArea rows={3} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} placeholder={t('csat_comment')} aria-label={t('csat_comment')} data-testid="csat-comment" />
        {rate.error && <Alert type="error" showIcon message={t(refusal(rate.error))} data-testid="csat-error" />}
        <Button type="primary" disabled={rating < 1} loading={rate.isPending} onClick={() => rate.mutate()} data-testid="csat-send">{t('csat_send')}</Button>
      </Space>
    );
  }
  return (
    <main style={{ maxWidth: 560, margin: '48px auto', padding: '0 16px' }}>
      <Card title={<h1 style={pageTitle}>{survey.data?.company ? `${survey.data.company} · ${t('csat_title')}` : t('csat_title')}</h1>}>{body}</Card>
    </main>
  );
}
