// Roles as options, and a page header, shared by the access screens.
import type { ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import './locales';

export interface Role {
  key: string;
  name: string;
  built_in: boolean;
  permissions: string[];
  scope: string;
}

export function useRoles() {
  const tenant = useTenant();
  return useQuery<Role[], Error>({
    queryKey: ['tenant', tenant.slug, 'roles'],
    queryFn: async () => (await get<{ items: Role[] }>(tpath(tenant.slug, '/roles'))).items,
  });
}

/** roleLabel names a role in the UI language; custom roles keep their own name. */
export function useRoleLabel() {
  const { t } = useTranslation('access');
  const roles = useRoles().data;
  return (key: string) => {
    const r = roles?.find((x) => x.key === key);
    if (!r || r.built_in) return t(`roleNames.${key}`, { defaultValue: r?.name ?? key });
    return r.name;
  };
}

export function PageHeader({ title, subtitle, extra }: { title: string; subtitle?: string; extra?: ReactNode }) {
  return (
    <div className="page-header" style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'flex-start', gap: 16, marginBottom: 16 }}>
      <div style={{ minWidth: 0 }}>
        <Typography.Title level={1} style={{ margin: 0, fontSize: 28 }}>
          {title}
        </Typography.Title>
        {subtitle && (
          <Typography.Paragraph type="secondary" style={{ margin: '4px 0 0' }}>
            {subtitle}
          </Typography.Paragraph>
        )}
      </div>
      {extra && (
        <div className="page-actions">
          <Space wrap>{extra}</Space>
        </div>
      )}
    </div>
  );
}
