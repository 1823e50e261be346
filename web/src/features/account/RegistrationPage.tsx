import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import AuthLayout from './AuthLayout';
import FlowBody from './FlowPage';
import { safeReturnTo, useFlow } from './kratos';

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
          <span style={{ color: '#555b66' }}>{t('registration.haveAccount')} </span>
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
          if (await f.submit(body)) nav(safeReturnTo(f.returnTo), { replace: true });
        }}
      />
    </AuthLayout>
  );
}
