import { Button, Result } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import AuthLayout from './AuthLayout';
import FlowBody from './FlowBody';
import { useFlow } from './kratos';

export default function VerificationPage() {
  const { t } = useTranslation('account');
  const [params] = useSearchParams();
  const f = useFlow('verification');
  const code = params.get('code');
  if (f.flow?.state === 'passed_challenge') {
    return (
      <AuthLayout title={t('verification.title')}>
        <Result
          status="success"
          title={t('verification.done')}
          extra={
            <Link to="/">
              <Button type="primary">{t('verification.continue')}</Button>
            </Link>
          }
        />
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title={t('verification.title')} subtitle={t('verification.subtitle')} footer={<Link to="/">{t('verification.continue')}</Link>}>
      <FlowBody f={f} testId="verification-form" prefill={code ? { code } : undefined} />
    </AuthLayout>
  );
}
