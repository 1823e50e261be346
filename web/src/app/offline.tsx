// The offline state. The service worker (public/sw.js) keeps only the app's shell,
// so without a network the app still opens, but it has no data to show: a page
// opened offline says so instead of spinning, and losing the network later shows a
// strip over the screen (what is on it stays, so nothing typed is lost). Data is
// never cached on the device.
import { useSyncExternalStore, type ReactNode } from 'react';
import { Button, Result } from 'antd';
import { DisconnectOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';

function subscribe(cb: () => void) {
  window.addEventListener('online', cb);
  window.addEventListener('offline', cb);
  return () => {
    window.removeEventListener('online', cb);
    window.removeEventListener('offline', cb);
  };
}

export function useOnline(): boolean {
  return useSyncExternalStore(subscribe, () => navigator.onLine, () => true);
}

let everOnline = typeof navigator === 'undefined' || navigator.onLine;

export function OfflineGate({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const online = useOnline();
  if (online) everOnline = true;
  if (!online && !everOnline) {
    return (
      <main id="main" data-testid="offline" style={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', padding: 16 }}>
        <Result
          icon={<DisconnectOutlined />}
          title={<h1 style={{ fontSize: 24, margin: 0 }}>{t('offline.title')}</h1>}
          subTitle={<span style={{ color: 'var(--c-text-2)' }}>{t('offline.text')}</span>}
          extra={<Button type="primary" onClick={() => location.reload()}>{t('offline.retry')}</Button>}
        />
      </main>
    );
  }
  return (
    <>
      {!online && (
        <div role="status" className="offline-strip" data-testid="offline" style={{ position: 'sticky', top: 0, zIndex: 1100 }}>
          <strong>{t('offline.title')}.</strong> {t('offline.text')}
        </div>
      )}
      {children}
    </>
  );
}
