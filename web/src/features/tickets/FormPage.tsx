// A company's hosted form for feedback, complaints and requests: no sign-in,
// in the company's language; a submission becomes a ticket whose number the
// sender gets at once.
import './locales';
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Form, Input, Result, Select, Typography, Upload } from 'antd';
import type { UploadFile } from 'antd';
import { PaperClipOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router-dom';
import { ApiError, get, post } from '../../app/api';
import { Loading } from '../../app/states';
import { type PublicForm, fileSize, publicPath, uiLanguage, withFiles } from './api';

interface Submission {
  name?: string;
  email?: string;
  phone?: string;
  type: string;
  subject: string;
  message?: string;
  website?: string;
}

/** pageTitle makes the card's title the page's level-one heading without changing how it looks. */
const pageTitle = { fontSize: 'inherit', fontWeight: 'inherit', lineHeight: 'inherit', margin: 0 } as const;

export default function FormPage() {
  const { t, i18n } = useTranslation('tickets');
  const { tenant = '' } = useParams();
  const path = publicPath(tenant, '/ticket-form');
  const form = useQuery({ queryKey: ['public', tenant, 'form'], queryFn: () => get<PublicForm>(path), retry: false, staleTime: Infinity });
  const [fields] = Form.useForm<Submission>();
  const [problem, setProblem] = useState('');
  const [files, setFiles] = useState<UploadFile[]>([]);
  const send = useMutation({
    mutationFn: (v: Submission) => files.length > 0
      ? post<{ number: number; message: string }>(`${path}/with-files`, withFiles({ ...v }, files.map((f) => f.originFileObj as File)))
      : post<{ number: number; message: string }>(path, Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== ''))),
    onError: (err) => {
      if (!(err instanceof ApiError)) return setProblem(String(err));
      const named = err.errors.map((e) => ({ name: (e.location ?? '').replace(/^body\./, ''), errors: [e.message ?? ''] })).filter((e) => fields.getFieldInstance(e.name as keyof Submission));
      fields.setFields(named as Parameters<typeof fields.setFields>[0]);
      setProblem(named.length ? '' : err.detail || err.title);
    },
  });
  useEffect(() => {
    if (form.data) void i18n.changeLanguage(uiLanguage(form.data.locale));
  }, [form.data, i18n]);

  let body;
  if (form.isPending) body = <Loading />;
  else if (form.error) body = <Result status="info" title={t('form_closed')} data-testid="form-closed" />;
  else if (send.data) body = <Result status="success" title={send.data.message} data-testid="form-receipt" />;
  else {
    const f = form.data;
    body = (
      <>
        <Typography.Paragraph>{f.intro}</Typography.Paragraph>
        {problem && <Alert type="error" showIcon message={problem} style={{ marginBottom: 12 }} />}
        <Form form={fields} layout="vertical" initialValues={{ type: 'request' }} onFinish={(v) => send.mutate(v)}>
          <Form.Item name="type" label={t('form_type')}>
            <Select options={f.types.map((x) => ({ value: x, label: t('type_' + x) }))} data-testid="form-type" />
          </Form.Item>
          <Form.Item name="subject" label={t('form_subject')} rules={[{ required: true, max: 300 }]}><Input data-testid="form-subject" /></Form.Item>
          <Form.Item name="message" label={t('form_message')}><Input.TextArea rows={5} maxLength={20000} data-testid="form-message" /></Form.Item>
          {f.max_files ? (
            <Form.Item label={t('formFiles')} extra={t('attachHint', { max: f.max_files, size: fileSize(f.max_file_bytes ?? 0) })}>
              <Upload multiple accept={f.file_types?.join(',')} fileList={files} maxCount={f.max_files}
                beforeUpload={(file) => {
                  if (f.max_file_bytes && file.size > f.max_file_bytes) {
                    setProblem(t('fileTooLarge', { name: file.name, size: fileSize(f.max_file_bytes) }));
                    return Upload.LIST_IGNORE;
                  }
                  return false; // sent with the form
                }}
                onChange={({ fileList }) => setFiles(fileList)}>
                <Button icon={<PaperClipOutlined />} data-testid="form-attach">{t('attach')}</Button>
              </Upload>
            </Form.Item>
          ) : null}
          <Form.Item name="name" label={t('form_name')}><Input data-testid="form-name" /></Form.Item>
          <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>{t('form_contact')}</Typography.Paragraph>
          <Form.Item name="email" label={t('form_email')}><Input type="email" data-testid="form-email" /></Form.Item>
          <Form.Item name="phone" label={t('form_phone')}><Input data-testid="form-phone" /></Form.Item>
          {/* The honeypot: hidden from people, filled in by robots, refused by the server. */}
          <div aria-hidden="true" style={{ position: 'absolute', left: -10000, width: 1, height: 1, overflow: 'hidden' }}>
            <Form.Item name="website" label={t('form_website')}><Input tabIndex={-1} autoComplete="off" data-testid="form-website" /></Form.Item>
          </div>
          <Button type="primary" htmlType="submit" loading={send.isPending} data-testid="form-send">{t('form_send')}</Button>
        </Form>
      </>
    );
  }
  return (
    <main style={{ maxWidth: 640, margin: '48px auto', padding: '0 16px' }}>
      <Card title={form.data ? <h1 style={pageTitle}>{`${form.data.company} · ${form.data.title}`}</h1> : undefined}>{body}</Card>
    </main>
  );
}
