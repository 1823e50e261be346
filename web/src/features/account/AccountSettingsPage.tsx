// Profile (name, email) and password through Kratos's settings flow; each
// group is its own card and form, submitted with its own method.
import { Alert, Button, Card, Col, Row, Typography } from 'antd';
import { ArrowLeftOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { ErrorState, Loading } from '../../app/states';
import FlowForm, { FlowMessages } from './FlowForm';
import { useFlow } from './kratos';
import './locales';

export default function AccountSettingsPage() {
  const { t } = useTranslation('account');
  const f = useFlow('settings');
  const nav = useNavigate();
  return (
    <div style={{ minHeight: '100vh', background: 'var(--c-page)', padding: '32px 24px' }}>
      <main style={{ maxWidth: 960, margin: '0 auto' }}>
        <Button type="link" icon={<ArrowLeftOutlined />} onClick={() => nav('/')} style={{ paddingInline: 0 }}>
          {t('settings.back')}
        </Button>
        <Typography.Title level={1} style={{ marginTop: 8, fontSize: 28 }}>
          {t('settings.title')}
        </Typography.Title>
        {f.fatal ? (
          <ErrorState error={new Error(f.fatal)} onRetry={f.restart} />
        ) : !f.flow ? (
          <Loading />
        ) : (
          <>
            {f.flow.state === 'success' && !f.flow.ui.messages?.length && <Alert type="success" showIcon message={t('settings.saved')} style={{ marginBottom: 16 }} />}
            <FlowMessages messages={f.flow.ui.messages} />
            <Row gutter={[24, 24]}>
              <Col xs={24} md={12}>
                <Card title={t('settings.profile')}>
                  <FlowForm flow={f.flow} groups={['profile']} hideMessages busy={f.busy} onSubmit={f.submit} testId="settings-profile" />
                </Card>
              </Col>
              <Col xs={24} md={12}>
                <Card title={t('settings.password')}>
                  <Typography.Paragraph type="secondary">{t('settings.passwordHelp')}</Typography.Paragraph>
                  <FlowForm flow={f.flow} groups={['password']} hideMessages busy={f.busy} onSubmit={f.submit} testId="settings-password" />
                </Card>
              </Col>
            </Row>
          </>
        )}
      </main>
    </div>
  );
}
