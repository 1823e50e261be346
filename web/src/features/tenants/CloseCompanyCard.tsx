// Closing the company: the owner's danger zone on the settings page. The
// company stops answering for everyone at once; an owner can reopen it until
// the grace period ends, when every record and file of it is deleted.
import { useState } from 'react';
import { Alert, Button, Card, Input, Modal, Typography } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { formErrors, post, tpath } from '../../app/api';
import { meKey } from '../../app/session';
import './locales';

export default function CloseCompanyCard({ slug, name }: { slug: string; name: string }) {
  const { t } = useTranslation('tenants');
  const qc = useQueryClient();
  const nav = useNavigate();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();

  async function close() {
    setBusy(true);
    setProblem(undefined);
    try {
      await post(tpath(slug, '/close'), { confirm: typed });
      localStorage.removeItem('clientele.tenant');
      await qc.invalidateQueries({ queryKey: meKey });
      nav('/welcome', { replace: true });
    } catch (e) {
      const { fields, rest } = formErrors(e);
      setProblem([...fields.flatMap((f) => f.errors), ...rest].join(' ') || String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('close.title')} style={{ marginTop: 16, borderColor: 'var(--c-danger, #cf1322)' }} data-testid="close-company-card">
      <Typography.Paragraph>{t('close.explain')}</Typography.Paragraph>
      <Button danger onClick={() => setOpen(true)} data-testid="close-company">
        {t('close.button')}
      </Button>
      <Modal
        open={open}
        title={t('close.confirmTitle', { name })}
        onCancel={() => setOpen(false)}
        okText={t('close.confirmButton')}
        okButtonProps={{ danger: true, disabled: typed !== slug, loading: busy, ...{ 'data-testid': 'close-company-confirm' } }}
        onOk={close}
        destroyOnHidden
      >
        <Typography.Paragraph>{t('close.confirmText')}</Typography.Paragraph>
        <label htmlFor="close-confirm">{t('close.typeSlug', { slug })}</label>
        <Input id="close-confirm" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" data-testid="close-company-slug" />
        {problem && <Alert type="error" showIcon message={problem} style={{ marginTop: 12 }} role="alert" />}
      </Modal>
    </Card>
  );
}
