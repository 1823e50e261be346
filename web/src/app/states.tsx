// Loading, empty, error and not-found states used by every screen.
import { Button, Empty, Result, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, errorMessage } from './api';

export function Loading({ full }: { full?: boolean }) {
  const { t } = useTranslation();
  return (
    <div role="status" aria-live="polite" style={{ display: 'flex', justifyContent: 'center', padding: full ? '30vh 0' : 48 }}>
      <Spin tip={t('state.loading')}>
        <div style={{ width: 120, height: 40 }} />
      </Spin>
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  if (error instanceof ApiError && error.status === 404) return <NotFound />;
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <Result
      status={forbidden ? '403' : 'error'}
      title={forbidden ? t('forbidden') : t('state.error')}
      subTitle={errorMessage(error)}
      extra={onRetry && <Button onClick={onRetry}>{t('state.retry')}</Button>}
    />
  );
}

export function EmptyState({ text, children }: { text?: string; children?: React.ReactNode }) {
  const { t } = useTranslation();
  return (
    <Empty description={text ?? t('state.empty')} style={{ padding: 32 }}>
      {children}
    </Empty>
  );
}

export function NotFound() {
  const { t } = useTranslation();
  return (
    <div data-testid="not-found" style={{ paddingTop: '8vh' }}>
      <Result
        status="404"
        title={t('notFound.title')}
        subTitle={t('notFound.text')}
        extra={
          <Link to="/">
            <Button type="primary">{t('notFound.home')}</Button>
          </Link>
        }
      />
    </div>
  );
}
