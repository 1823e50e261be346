// The owner's download of the company's backup: a plain link, so the browser
// streams the archive to disk as the server writes it, whatever its size.
import { Button, Card, Typography } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { tpath } from '../../app/api';
import './locales';

export default function BackupCard({ slug }: { slug: string }) {
  const { t } = useTranslation('tenants');
  return (
    <Card title={t('backup.title')} style={{ marginTop: 16 }} data-testid="backup-card">
      <Typography.Paragraph>{t('backup.explain')}</Typography.Paragraph>
      <Button icon={<DownloadOutlined />} href={'/api/v1' + tpath(slug, '/backup')} download data-testid="backup-download">
        {t('backup.button')}
      </Button>
    </Card>
  );
}
