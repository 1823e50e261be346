// A banner across the top while a dependency is unavailable (the server said
// 503 and named it). It retries on its own with backoff (outage.ts): each
// retry refetches the queries on screen, and the first success hides it.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { Alert, Button } from 'antd';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { backoffMs, getOutage, subscribeOutage } from './outage';

export function OutageBanner() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const outage = useSyncExternalStore(subscribeOutage, getOutage, getOutage);
  const [retryAt, setRetryAt] = useState(0);
  const [now, setNow] = useState(() => Date.now());

  // Each failed attempt (outage.attempts) schedules the next retry further out.
  useEffect(() => {
    if (!outage) return;
    const wait = backoffMs(outage.attempts, outage.retryAfter);
    const at = Date.now() + wait;
    setRetryAt(at);
    const timer = window.setTimeout(() => void qc.refetchQueries({ type: 'active' }), wait);
    return () => window.clearTimeout(timer);
  }, [outage, qc]);

  useEffect(() => {
    if (!outage) return;
    const tick = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(tick);
  }, [outage]);

  if (!outage) return null;
  const seconds = Math.max(0, Math.ceil((retryAt - now) / 1000));
  return (
    <Alert
      banner
      type="warning"
      role="alert"
      data-testid="outage-banner"
      data-dependency={outage.dependency}
      title={t(`outage.${outage.dependency}`)}
      description={seconds > 0 ? t('outage.retrying', { seconds }) : undefined}
      action={
        <Button size="small" onClick={() => void qc.refetchQueries({ type: 'active' })}>
          {t('outage.retryNow')}
        </Button>
      }
    />
  );
}
