// Who is signed in, and which company the current URL is about. A tenant slug the
// user is not a member of renders the not-found page and nothing of that tenant.
import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Navigate, useLocation, useParams } from 'react-router-dom';
import { ApiError, get } from './api';
import { restoreLang } from './i18n';
import { ErrorState, Loading, NotFound } from './states';

export interface Membership {
  tenant_id: string;
  slug: string;
  name: string;
  role: string;
}
export interface Me {
  identity: { id: string; email: string; name: string };
  memberships: Membership[];
  /** Companies being closed that the person owns: they may reopen them until purge_after. */
  closing?: (Membership & { purge_after: string })[];
  invitations: { id: string; tenant_id: string; tenant_slug: string; tenant_name: string; role: string; expires_at: string }[];
}

export const meKey = ['me'] as const;

export function useMe() {
  return useQuery<Me, Error>({
    queryKey: meKey,
    queryFn: () => get<Me>('/me'),
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
    staleTime: 30_000,
  });
}

/** RequireSession renders children for a signed-in user and sends others to /login. */
export function RequireSession({ children }: { children: ReactNode }) {
  const me = useMe();
  const loc = useLocation();
  useEffect(() => {
    if (me.data) restoreLang(me.data.identity.id);
  }, [me.data]);
  if (me.isPending) return <Loading full />;
  if (me.error instanceof ApiError && me.error.status === 401) {
    return <Navigate to={`/login?return_to=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;
  }
  if (me.error) return <ErrorState error={me.error} onRetry={() => me.refetch()} />;
  return <>{children}</>;
}

export const TenantContext = createContext<Membership | null>(null);

/** TenantScope resolves :tenant against the user's memberships. */
export function TenantScope({ children }: { children: ReactNode }) {
  const { tenant } = useParams();
  const me = useMe();
  const m = me.data?.memberships.find((x) => x.slug === tenant);
  if (!m) return <NotFound />;
  return <TenantContext.Provider value={m}>{children}</TenantContext.Provider>;
}

/** useTenant is the company of the current page. */
export function useTenant(): Membership {
  const m = useContext(TenantContext);
  if (!m) throw new Error('useTenant outside a tenant route');
  return m;
}
