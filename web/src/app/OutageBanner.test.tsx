import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import i18n from './i18n';
import { OutageBanner } from './OutageBanner';
import { noteAvailable, noteUnavailable } from './outage';

afterEach(async () => {
  cleanup();
  vi.useRealTimers();
  act(() => noteAvailable());
  await i18n.changeLanguage('en');
});

function renderBanner() {
  const qc = new QueryClient();
  const refetch = vi.spyOn(qc, 'refetchQueries').mockResolvedValue();
  render(
    <QueryClientProvider client={qc}>
      <OutageBanner />
    </QueryClientProvider>,
  );
  return refetch;
}

describe('<OutageBanner>', () => {
  it('names the dependency in English and Chinese, retries after Retry-After, and goes once a request succeeds', async () => {
    vi.useFakeTimers();
    const refetch = renderBanner();
    expect(screen.queryByTestId('outage-banner')).toBeNull();
    act(() => noteUnavailable('database', '2'));
    expect(screen.getByRole('alert').textContent).toContain('The database is unavailable right now');
    expect(screen.getByRole('alert').textContent).toMatch(/Trying again in [23] s/);
    await act(async () => {
      await i18n.changeLanguage('zh');
    });
    expect(screen.getByRole('alert').textContent).toContain('数据库暂时不可用');
    expect(refetch).not.toHaveBeenCalled();
    await act(async () => {
      vi.advanceTimersByTime(2500);
    });
    expect(refetch).toHaveBeenCalledTimes(1);
    act(() => noteAvailable());
    expect(screen.queryByTestId('outage-banner')).toBeNull();
  });

  it('explains a sign-in outage', () => {
    renderBanner();
    act(() => noteUnavailable('identity', '1'));
    expect(screen.getByRole('alert').textContent).toContain('Sign-in is unavailable right now');
  });
});
