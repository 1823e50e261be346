import { StrictMode, startTransition, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router-dom';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import type { Locale } from 'antd/es/locale';
import i18n from './app/i18n';
import { router } from './app/routes';
import { ApiError } from './app/api';
import { applyTheme, darkTheme, onThemeChange, resolveDark, theme, themeMode } from './app/theme';
import { OutageBanner } from './app/OutageBanner';
import { backoffMs } from './app/outage';
import './app/app.css';
import { OfflineGate } from './app/offline';
import { registerServiceWorker } from './app/sw';
import { installFocusWrap } from './app/focusWrap';
import { installAntdFixes } from './app/antdFixes';

applyTheme();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
      // Back off from the server's Retry-After rather than hammering it.
      retryDelay: (n, err) => backoffMs(n + 1, err instanceof ApiError ? err.retryAfter : 1),
      refetchOnWindowFocus: false,
    },
  },
});

const appRouter = router();

// Ant Design's Chinese texts load only when someone switches to Chinese.
const loadZh = () => import('antd/locale/zh_CN').then((m) => m.default);

function Root() {
  const [antdLocale, setAntdLocale] = useState<Locale>(enUS);
  const [dark, setDark] = useState(() => resolveDark(themeMode()));
  useEffect(() => onThemeChange(() => setDark(resolveDark(themeMode()))), []);
  useEffect(() => {
    const on = (l: string) => {
      document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
      if (l === 'zh') void loadZh().then((zh) => i18n.language === 'zh' && setAntdLocale(zh));
      else setAntdLocale(enUS);
    };
    i18n.on('languageChanged', on);
    on(i18n.language);
    return () => i18n.off('languageChanged', on);
  }, []);
  return (
    <ConfigProvider locale={antdLocale} theme={dark ? darkTheme : theme}>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <OutageBanner />
          <OfflineGate>
            <RouterProvider router={appRouter} />
          </OfflineGate>
        </QueryClientProvider>
      </AntApp>
    </ConfigProvider>
  );
}

// The first render is a transition, so React renders it in slices of a few
// milliseconds and yields to the browser between them, instead of one long task
// that blocks input (Lighthouse's total blocking time). index.html's splash stays
// until React commits.
const root = createRoot(document.getElementById('root')!);
startTransition(() =>
  root.render(
    <StrictMode>
      <Root />
    </StrictMode>,
  ),
);

registerServiceWorker();
installFocusWrap();
installAntdFixes();
