import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import AuthLayout from './AuthLayout';
import FlowBody from './FlowBody';
import { safeReturnTo, useFlow } from './kratos';

export default function LoginPage() {
  const { t } = useTranslation('account');
  const [params] = useSearchParams();
  const refresh = params.get('refresh') === 'true';
  const f = useFlow('login', { refresh });
  const nav = useNavigate();
  const rt = f.returnTo ? `?return_to=${encodeURIComponent(f.returnTo)}` : '';
  return (
    <AuthLayout
      title={t('login.title')}
      subtitle={refresh ? t('login.refresh') : undefined}
      footer={
        <>
          <p style={{ margin: '0 0 4px' }}>
            <Link to="/recovery">{t('login.forgot')}</Link>
          </p>
          <span style={{ color: 'var(--c-text-2)' }}>{t('login.noAccount')} </span>
          <Link to={`/registration${rt}`} data-testid="to-registration">
            {t('login.signUp')}
          </Link>
        </>
      }
    >
      <FlowBody
        f={f}
        groups={['password']}
        testId="login-form"
        onSubmit={async (body) => {
          if (await f.submit(body)) nav(safeReturnTo(f.returnTo), { replace: true });
        }}
      />
    </AuthLayout>
  );
}
