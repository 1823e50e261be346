// Kratos sends the browser here (/error?id=...) when a flow fails outright.
import { useQuery } from '@tanstack/react-query';
import { Button, Result } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { Loading } from '../../app/states';
import AuthLayout from './AuthLayout';
import { kratos } from './kratos';

export default function KratosErrorPage() {
  const { t } = useTranslation('account');
  const [params] = useSearchParams();
  const id = params.get('id');
  const q = useQuery({
    queryKey: ['kratos-error', id],
    queryFn: async () => (await kratos.getFlowError({ id: id! })).data,
    enabled: !!id,
    retry: false,
  });
  const err = (q.data?.error ?? {}) as { message?: string; reason?: string };
  return (
    <AuthLayout title={t('error.title')}>
      {q.isLoading ? (
        <Loading />
      ) : (
        <Result
          status="warning"
          subTitle={err.reason || err.message || params.get('error') || ''}
          extra={
            <Link to="/login">
              <Button type="primary">{t('error.retry')}</Button>
            </Link>
          }
        />
      )}
    </AuthLayout>
  );
}
