// Shared body of the signed-out flow screens: loading, a fatal error with a
// restart, the expired-form notice, the too-many-attempts notice with when to
// try again, and the form itself.
import { Alert, Button, Result } from 'antd';
import { useTranslation } from 'react-i18next';
import dayjs from 'dayjs';
import { Loading } from '../../app/states';
import FlowForm from './FlowForm';
import type { useFlow } from './kratos';

export default function FlowBody({ f, groups, prefill, testId, onSubmit }: { f: ReturnType<typeof useFlow>; groups?: string[]; prefill?: Record<string, unknown>; testId?: string; onSubmit?: (body: Record<string, unknown>) => void }) {
  const { t } = useTranslation('account');
  if (f.fatal)
    return (
      <Result status="warning" title={t('error.title')} subTitle={f.fatal} extra={<Button onClick={f.restart}>{t('error.retry')}</Button>} />
    );
  if (!f.flow) return <Loading />;
  return (
    <>
      {f.notice === 'expired' && <Alert type="info" showIcon message={t('expired')} style={{ marginBottom: 16 }} />}
      {f.throttledUntil && (
        <Alert
          type="error"
          showIcon
          role="alert"
          title={t('throttled', { count: Math.max(1, Math.ceil((f.throttledUntil - Date.now()) / 60_000)), time: dayjs(f.throttledUntil).format('HH:mm') })}
          style={{ marginBottom: 16 }}
        />
      )}
      <FlowForm flow={f.flow} groups={groups} busy={f.busy} prefill={prefill} testId={testId} onSubmit={onSubmit ?? f.submit} />
    </>
  );
}
