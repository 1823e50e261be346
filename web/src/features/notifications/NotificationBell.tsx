// The bell: unread count (polled), the latest notifications in a popover, mark
// one or all read. Task reminders land here.
import { useState } from 'react';
import { Badge, Button, Empty, List, Popover, Space, Switch, Typography } from 'antd';
import { BellOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { ApiError, errorMessage, get, post, put, tpath } from '../../app/api';
import { registerLocales } from '../../app/i18n';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';

registerLocales('notifications', {
  en: { title: 'Notifications', readAll: 'Mark all read', empty: 'You are all caught up', unread: '{{count}} unread', open: 'Notifications, {{count}} unread', error: 'Notifications could not be loaded.', email: 'Also email me each notification', emailSaveFailed: 'Your email choice was not saved: {{reason}}' },
  zh: { title: '通知', readAll: '全部标为已读', empty: '暂无新通知', unread: '{{count}} 条未读', open: '通知，{{count}} 条未读', error: '无法加载通知。', email: '同时通过邮件通知我', emailSaveFailed: '邮件通知设置未保存：{{reason}}' },
});

export interface Notification {
  id: string;
  kind: string;
  title: string;
  body: string;
  link: string;
  created_at: string;
  read_at?: string;
}
interface Preferences {
  email: boolean;
}
interface Feed {
  items: Notification[];
  unread: number;
}

export const POLL_MS = 30_000;

export default function NotificationBell() {
  const { t } = useTranslation('notifications');
  const tenant = useTenant();
  const f = useFormat();
  const nav = useNavigate();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const key = ['tenant', tenant.slug, 'notifications'];
  const q = useQuery<Feed | null, Error>({
    queryKey: key,
    queryFn: async () => {
      try {
        return await get<Feed>(tpath(tenant.slug, '/notifications'), { limit: 20 });
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null; // the module is off here
        throw e;
      }
    },
    refetchInterval: POLL_MS,
    refetchIntervalInBackground: false,
  });
  const readOne = useMutation({
    mutationFn: (id: string) => post(tpath(tenant.slug, `/notifications/${id}/read`)),
    onSettled: () => qc.invalidateQueries({ queryKey: key }),
  });
  const readAll = useMutation({
    mutationFn: () => post(tpath(tenant.slug, '/notifications/read-all')),
    onSettled: () => qc.invalidateQueries({ queryKey: key }),
  });
  const prefsKey = ['tenant', tenant.slug, 'notification-preferences'];
  const prefs = useQuery<Preferences, Error>({
    queryKey: prefsKey,
    queryFn: () => get<Preferences>(tpath(tenant.slug, '/notifications/preferences')),
    enabled: open,
  });
  const setEmail = useMutation({
    mutationFn: (email: boolean) => put<Preferences>(tpath(tenant.slug, '/notifications/preferences'), { email }),
    onSuccess: (p) => qc.setQueryData(prefsKey, p),
  });
  if (q.data === null) return null;
  const unread = q.data?.unread ?? 0;

  const content = (
    <div style={{ width: 360 }} data-testid="notifications">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 8 }}>
        <Typography.Text strong>{t('title')}</Typography.Text>
        {unread > 0 && (
          <Button type="link" size="small" onClick={() => readAll.mutate()} loading={readAll.isPending}>
            {t('readAll')}
          </Button>
        )}
      </Space>
      {q.error ? (
        <Typography.Text type="danger">{t('error')}</Typography.Text>
      ) : !q.data?.items.length ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('empty')} />
      ) : (
        <List
          size="small"
          style={{ maxHeight: 420, overflow: 'auto' }}
          dataSource={q.data.items}
          renderItem={(n) => (
            <List.Item
              style={{ cursor: 'pointer', background: n.read_at ? undefined : 'var(--c-brand-soft)', paddingInline: 8, borderRadius: 6 }}
              onClick={() => {
                if (!n.read_at) readOne.mutate(n.id);
                if (n.link) {
                  setOpen(false);
                  nav(n.link.startsWith('/t/') ? n.link : `/t/${tenant.slug}${n.link.startsWith('/') ? '' : '/'}${n.link}`);
                }
              }}
            >
              <List.Item.Meta
                title={<span style={{ fontWeight: n.read_at ? 400 : 600 }}>{n.title}</span>}
                description={
                  <>
                    {n.body && <div>{n.body}</div>}
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {f.relative(n.created_at)}
                    </Typography.Text>
                  </>
                }
              />
            </List.Item>
          )}
        />
      )}
      <Space style={{ width: '100%', justifyContent: 'space-between', marginTop: 8, borderTop: '1px solid var(--c-border)', paddingTop: 8 }}>
        <label htmlFor="notify-email">{t('email')}</label>
        <Switch
          id="notify-email"
          size="small"
          checked={prefs.data?.email ?? true}
          loading={prefs.isLoading || setEmail.isPending}
          disabled={!prefs.data}
          onChange={(on) => setEmail.mutate(on)}
        />
      </Space>
      {setEmail.error && <Typography.Text type="danger">{t('emailSaveFailed', { reason: errorMessage(setEmail.error) })}</Typography.Text>}
    </div>
  );

  return (
    <Popover content={content} trigger="click" open={open} onOpenChange={setOpen} placement="bottomRight">
      <Button type="text" aria-label={t('open', { count: unread })} data-testid="bell" icon={<Badge count={unread} size="small" offset={[2, -2]}><BellOutlined style={{ fontSize: 18 }} /></Badge>} />
    </Popover>
  );
}
