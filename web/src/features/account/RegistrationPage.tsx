import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import AuthLayout from './AuthLayout';
import FlowBody from './FlowBody';
import { VERIFY_KEY, safeReturnTo, useFlow } from './kratos';

export default function RegistrationPage() {
  const { t } = useTranslation('account');
  const f = useFlow('registration');
  const nav = useNavigate();
  const rt = f.returnTo ? `?return_to=${encodeURIComponent(f.returnTo)}` : '';
  return (
    <AuthLayout
      title={t('registration.title')}
      subtitle={t('registration.subtitle')}
      footer={
        <>
          <span style={{ color: 'var(--c-text-2)' }}>{t('registration.haveAccount')} </span>
          <Link to={`/login${rt}`}>{t('registration.signIn')}</Link>
        </>
      }
    >
      <FlowBody
        f={f}
        groups={['profile', 'password']}
        testId="registration-form"
        onSubmit={async (body) => {
          // The session hook signs the new person in; the start page then offers
          // the company wizard.
          const done = await f.submit(body);
          if (!done) return;
          // Kratos mailed a verification code; the wizard offers to enter it.
          const verify = ((done.continue_with ?? []) as { action: string; flow?: { id: string } }[]).find((c) => c.action === 'show_verification_ui');
          if (verify?.flow?.id) sessionStorage.setItem(VERIFY_KEY, verify.flow.id);
          nav(safeReturnTo(f.returnTo), { replace: true });
        }}
      />
    </AuthLayout>
  );
}
