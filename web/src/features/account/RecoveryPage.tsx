import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import AuthLayout from './AuthLayout';
import FlowBody from './FlowBody';
import { useFlow } from './kratos';

// Recovery by code: the email step, then the code step. A correct code makes
// Kratos answer 422 with the settings screen to go to, where a new password is set.
export default function RecoveryPage() {
  const { t } = useTranslation('account');
  const [params] = useSearchParams();
  const f = useFlow('recovery');
  const code = params.get('code');
  return (
    <AuthLayout title={t('recovery.title')} subtitle={f.flow?.state === 'sent_email' ? undefined : t('recovery.subtitle')} footer={<Link to="/login">{t('recovery.back')}</Link>}>
      <FlowBody f={f} testId="recovery-form" prefill={code ? { code } : undefined} />
    </AuthLayout>
  );
}
