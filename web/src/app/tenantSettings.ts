// The company's settings (name, time zone, locale, currency, modules), read once
// per tenant and shared by the formatting hook and the settings screen.
import { useQuery } from '@tanstack/react-query';
import { get, tpath } from './api';

export interface TenantSettings {
  name: string;
  slug: string;
  time_zone: string;
  locale: 'en' | 'zh-CN' | string;
  currency: string;
  modules: Record<string, boolean>;
}

export const settingsKey = (slug: string) => ['tenant', slug, 'settings'] as const;

export function useTenantSettings(slug: string | undefined) {
  return useQuery<TenantSettings, Error>({
    queryKey: settingsKey(slug ?? ''),
    queryFn: () => get<TenantSettings>(tpath(slug!, '/settings')),
    enabled: !!slug,
    staleTime: 5 * 60_000,
  });
}
