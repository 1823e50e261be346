import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import i18n from '../../app/i18n';
import BackupCard from './BackupCard';

afterEach(() => cleanup());

describe('the backup card', () => {
  it('links the owner to the streamed archive of this company, in English and Chinese', async () => {
    await i18n.changeLanguage('en');
    render(<BackupCard slug="acme-co" />);
    const link = screen.getByTestId('backup-download').closest('a');
    expect(link?.getAttribute('href')).toBe('/api/v1/t/acme-co/backup');
    expect(link?.hasAttribute('download')).toBe(true);
    expect(screen.getByTestId('backup-card').textContent).toContain('Download backup');
    cleanup();
    await i18n.changeLanguage('zh');
    render(<BackupCard slug="acme-co" />);
    expect(screen.getByTestId('backup-card').textContent).toContain('下载备份');
    expect(screen.getByTestId('backup-card').textContent).toContain('数据备份');
    await i18n.changeLanguage('en');
  });
});
