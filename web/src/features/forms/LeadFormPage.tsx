// A web-to-lead form's hosted page: no sign-in, in the company's language;
// the snippet embeds this page in an iframe and passes on the embedding
// page's address and UTM parameters in the query.
import './locales';
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Card, Form, Result } from 'antd';
import { useTranslation } from 'react-i18next';
import { useLocation, useParams } from 'react-router-dom';
import { ApiError, get, post } from '../../app/api';
import { Loading } from '../../app/states';
import { publicPath, uiLanguage } from '../tickets/api';
import { campaign, submissionValues, type PublicLeadForm } from './api';
import { LeadFormView, type LeadFormValues } from './LeadFormView';

/** pageTitle makes the card's title the page's level-one heading without changing how it looks. */
const pageTitle = { fontSize: 'inherit', fontWeight: 'inherit', lineHeight: 'inherit', margin: 0 } as const;

export default function LeadFormPage() {
  const { t, i18n } = useTranslation('forms');
  const { tenant = '', token = '' } = useParams();
  const { search } = useLocation();
  const lang = new URLSearchParams(search).get('lang') ?? undefined;
  const path = publicPath(tenant, `/lead-forms/${encodeURIComponent(token)}`);
  const form = useQuery({ queryKey: ['public', tenant, 'lead-form', token, lang], queryFn: () => get<PublicLeadForm>(path, lang ? { lang } : undefined), retry: false, staleTime: Infinity });
  const [fields] = Form.useForm<LeadFormValues>();
  const [problem, setProblem] = useState('');
  const send = useMutation({
    mutationFn: (v: LeadFormValues) => {
      const c = campaign(search);
      return post<{ message: string; redirect_url?: string }>(path, {
        fields: submissionValues(v.fields ?? {}),
        consent: !!v.consent,
        website: v.website || undefined,
        locale: form.data?.locale,
        source: c.source ?? (document.referrer || undefined),
        referrer: c.referrer,
        utm: c.utm,
      });
    },
    onSuccess: (r) => {
      if (r.redirect_url) window.top?.location.assign(r.redirect_url);
    },
    onError: (err) => {
      if (!(err instanceof ApiError)) return setProblem(String(err));
      // "body.fields.custom.budget" is the field ["fields", "custom.budget"].
      const named = err.errors
        .map((e) => {
          const loc = (e.location ?? '').replace(/^body\./, '');
          const name = loc.startsWith('fields.') ? ['fields', loc.slice('fields.'.length)] : [loc];
          return { name, errors: [e.message ?? ''] };
        })
        .filter((e) => e.name[0] === 'consent' || (e.name[0] === 'fields' && form.data?.fields.some((f) => f.key === e.name[1])));
      fields.setFields(named as Parameters<typeof fields.setFields>[0]);
      setProblem(named.length ? '' : err.detail || err.title);
    },
  });
  useEffect(() => {
    if (form.data) void i18n.changeLanguage(uiLanguage(form.data.locale));
  }, [form.data, i18n]);

  let body;
  if (form.isPending) body = <Loading />;
  else if (form.error) body = <Result status="info" title={t('closed')} subTitle={t('closedHelp')} data-testid="lead-form-closed" />;
  else if (send.data) body = <Result status="success" title={send.data.message} data-testid="lead-form-thanks" />;
  else
    body = (
      <>
        {problem && <Alert type="error" showIcon message={problem} style={{ marginBottom: 12 }} />}
        <LeadFormView form={fields} data={form.data} onFinish={(v) => send.mutate(v)} busy={send.isPending} />
      </>
    );
  return (
    <main style={{ maxWidth: 640, margin: '32px auto', padding: '0 16px' }}>
      <Card title={form.data ? <h1 style={pageTitle}>{form.data.title}</h1> : undefined} extra={form.data?.company}>
        {body}
      </Card>
    </main>
  );
}
