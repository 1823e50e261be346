// What the signed-in member may do in the current company, from
// GET /t/{tenant}/me. The UI hides or disables what the server would refuse; the
// server still checks every request.
import type { ReactNode } from 'react';
import { useContext } from 'react';
import { useQuery } from '@tanstack/react-query';
import { get, tpath } from './api';
import { TenantContext } from './session';

export interface Access {
  kind: string;
  role: string;
  scope: 'own' | 'team' | 'all' | string;
  permissions: string[];
}

export const accessKey = (slug: string) => ['tenant', slug, 'access'] as const;

/** Permissions the shell and admin screens look for. */
export const P = {
  membersManage: 'members.manage',
  rolesManage: 'roles.manage',
  apiKeysManage: 'api_keys.manage',
  webhooksManage: 'webhooks.manage',
  formsManage: 'forms.manage',
  settingsManage: 'settings.manage',
  auditRead: 'audit.read',
  fieldsManage: 'fields.manage',
  ticketsManage: 'tickets.manage',
  piiRead: 'pii.read',
} as const;

/** can reports whether access grants every one of perms. Unknown access grants nothing. */
export function can(access: Access | undefined, ...perms: string[]): boolean {
  if (!access) return false;
  return perms.every((p) => access.permissions.includes(p));
}

export function useAccess() {
  const tenant = useContext(TenantContext);
  return useQuery<Access, Error>({
    queryKey: accessKey(tenant?.slug ?? ''),
    queryFn: () => get<Access>(tpath(tenant!.slug, '/me')),
    enabled: !!tenant,
    staleTime: 60_000,
  });
}

/** useCan is true when the member holds every permission named. */
export function useCan(...perms: string[]): boolean {
  return can(useAccess().data, ...perms);
}

/** Can renders children only for a member holding perm, else the fallback. */
export function Can({ perm, children, fallback = null }: { perm: string | string[]; children: ReactNode; fallback?: ReactNode }) {
  const ok = useCan(...(Array.isArray(perm) ? perm : [perm]));
  return <>{ok ? children : fallback}</>;
}
