import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, screen } from '@testing-library/react';
import i18n from '../../app/i18n';
import { renderPage } from './dashboardHarness';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

// Edit layout is for whoever may change the dashboard (can_edit from the server).
describe('<DashboardView> edit rights', () => {
  it('shows Edit layout only to who may change the dashboard', async () => {
    renderPage({ canEdit: false });
    expect(await screen.findByText('12')).toBeTruthy();
    expect(screen.queryByTestId('bi-edit-layout')).toBeNull();
    cleanup();
    renderPage({ canEdit: true });
    expect(await screen.findByTestId('bi-edit-layout')).toBeTruthy();
  });
});
