// Kratos browser flows through our same-origin proxy at /kratos, with the
// session and CSRF cookies Kratos sets there.
import { Configuration, FrontendApi } from '@ory/client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { meKey } from '../../app/session';
import type { Flow } from './nodes';
import { noteUnavailable } from '../../app/outage';

export const kratos = new FrontendApi(
  new Configuration({ basePath: `${location.origin}/kratos`, baseOptions: { withCredentials: true } }),
);

/** sessionStorage key holding the verification flow a new sign-up was mailed a code for. */
export const VERIFY_KEY = 'clientele.verifyFlow';

export type FlowKind = 'login' | 'registration' | 'recovery' | 'verification' | 'settings';

interface AxiosLike {
  response?: { status: number; data?: Record<string, unknown>; headers?: Record<string, unknown> };
  message?: string;
}

/**
 * retryAt reads a 429's Retry-After (seconds) into the time at which trying
 * again is allowed; a missing or odd header means one minute.
 */
export function retryAt(retryAfter: unknown, now = Date.now()): number {
  const secs = Number.parseInt(String(retryAfter ?? ''), 10);
  return now + (Number.isFinite(secs) && secs > 0 ? secs : 60) * 1000;
}

/** safeReturnTo keeps return_to on this origin; anything else goes home. */
export function safeReturnTo(raw: string | null | undefined): string {
  if (!raw) return '/';
  try {
    const u = new URL(raw, location.origin);
    if (u.origin !== location.origin) return '/';
    return u.pathname + u.search + u.hash;
  } catch {
    return '/';
  }
}

/**
 * continueTo reads a flow answer's continue_with items and returns the app path
 * to show next: the settings screen after a recovery, or a same-origin redirect.
 */
export function continueTo(data: Record<string, unknown>): string | undefined {
  const items = (data.continue_with ?? []) as { action: string; flow?: { id: string; url?: string }; redirect_browser_to?: string }[];
  for (const c of items) {
    if (c.action === 'show_settings_ui' && c.flow?.id) return `/settings?flow=${encodeURIComponent(c.flow.id)}`;
    if (c.action === 'redirect_browser_to' && c.redirect_browser_to) {
      const to = safeReturnTo(c.redirect_browser_to);
      if (to !== '/') return to;
    }
  }
  return undefined;
}

/**
 * useFlow creates (or, with ?flow=, fetches) a self-service flow, submits it,
 * and follows Kratos's answers: 400 re-renders the flow with its messages, 410
 * and CSRF failures start a fresh flow, 422 follows redirect_browser_to, and a
 * session that already exists goes home.
 */
export function useFlow(kind: FlowKind, opts: { refresh?: boolean } = {}) {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [flow, setFlow] = useState<Flow>();
  const [fatal, setFatal] = useState<string>();
  const [notice, setNotice] = useState<'expired'>();
  /** When too many attempts were refused: the time trying again is allowed. */
  const [throttledUntil, setThrottledUntil] = useState<number>();
  const [busy, setBusy] = useState(false);
  const returnTo = params.get('return_to') ?? undefined;
  const flowId = params.get('flow');
  const started = useRef<string | null>(null);

  const create = useCallback(async () => {
    const rt = returnTo ? new URL(safeReturnTo(returnTo), location.origin).toString() : undefined;
    switch (kind) {
      case 'login':
        return (await kratos.createBrowserLoginFlow({ returnTo: rt, refresh: opts.refresh })).data as unknown as Flow;
      case 'registration':
        return (await kratos.createBrowserRegistrationFlow({ returnTo: rt })).data as unknown as Flow;
      case 'recovery':
        return (await kratos.createBrowserRecoveryFlow({ returnTo: rt })).data as unknown as Flow;
      case 'verification':
        return (await kratos.createBrowserVerificationFlow({ returnTo: rt })).data as unknown as Flow;
      case 'settings':
        return (await kratos.createBrowserSettingsFlow({ returnTo: rt })).data as unknown as Flow;
    }
  }, [kind, returnTo, opts.refresh]);

  const fetchFlow = useCallback(
    async (id: string) => {
      switch (kind) {
        case 'login':
          return (await kratos.getLoginFlow({ id })).data as unknown as Flow;
        case 'registration':
          return (await kratos.getRegistrationFlow({ id })).data as unknown as Flow;
        case 'recovery':
          return (await kratos.getRecoveryFlow({ id })).data as unknown as Flow;
        case 'verification':
          return (await kratos.getVerificationFlow({ id })).data as unknown as Flow;
        case 'settings':
          return (await kratos.getSettingsFlow({ id })).data as unknown as Flow;
      }
    },
    [kind],
  );

  const show = useCallback(
    (f: Flow) => {
      setFlow(f);
      if (params.get('flow') !== f.id) {
        const next = new URLSearchParams(params);
        next.set('flow', f.id);
        setParams(next, { replace: true });
      }
    },
    [params, setParams],
  );

  /** restart drops the current flow; the effect below creates a fresh one. */
  const restart = useCallback(() => {
    started.current = null;
    setFlow(undefined);
    setFatal(undefined);
    const next = new URLSearchParams(params);
    next.delete('flow');
    setParams(next, { replace: true });
  }, [params, setParams]);

  const handle = useCallback(
    async (e: unknown): Promise<void> => {
      const r = (e as AxiosLike).response;
      const data = r?.data ?? {};
      const err = data.error as { id?: string; reason?: string; message?: string } | undefined;
      if (r?.status === 429) {
        setThrottledUntil(retryAt(r.headers?.['retry-after']));
        return;
      }
      if (r?.status === 503) {
        // Our proxy's problem: sign-in is unavailable; the banner explains and retries.
        noteUnavailable(data.dependency ?? 'identity', r.headers?.['retry-after']);
        setFatal(String(data.detail ?? 'unavailable'));
        return;
      }
      if (r?.status === 422 && typeof data.redirect_browser_to === 'string') {
        window.location.assign(data.redirect_browser_to);
        return;
      }
      if (err?.id === 'session_already_available') {
        navigate(safeReturnTo(returnTo), { replace: true });
        return;
      }
      if (err?.id === 'session_refresh_required' || err?.id === 'session_aal2_required') {
        const to = (data.redirect_browser_to as string) ?? `/login?refresh=true&return_to=${encodeURIComponent(location.pathname)}`;
        window.location.assign(to);
        return;
      }
      if (r?.status === 401 && kind === 'settings') {
        navigate(`/login?return_to=${encodeURIComponent('/settings')}`, { replace: true });
        return;
      }
      if (r?.status === 400 && data.ui) {
        setFlow(data as unknown as Flow);
        return;
      }
      if (r?.status === 410 || r?.status === 404 || err?.id === 'security_csrf_violation' || err?.id === 'self_service_flow_expired') {
        setNotice('expired');
        const f = await create().catch(() => undefined);
        if (f) show(f);
        else setFatal(err?.message ?? 'flow expired');
        return;
      }
      setFatal(err?.reason || err?.message || (e as AxiosLike).message || 'error');
    },
    [create, kind, navigate, returnTo, show],
  );

  useEffect(() => {
    const key = `${kind}:${flowId ?? ''}`;
    if (started.current === key || (flow && flow.id === flowId)) return;
    started.current = key;
    (flowId ? fetchFlow(flowId) : create()).then(show, handle);
  }, [kind, flowId, flow, create, fetchFlow, show, handle]);

  /** submit sends the body; onDone gets a successful answer that is not a flow to re-render. */
  const submit = useCallback(
    async (body: Record<string, unknown>): Promise<Record<string, unknown> | undefined> => {
      if (!flow) return;
      setBusy(true);
      setNotice(undefined);
      setThrottledUntil(undefined);
      try {
        let res: { data: unknown };
        switch (kind) {
          case 'login':
            res = await kratos.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: body as never });
            break;
          case 'registration':
            res = await kratos.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: body as never });
            break;
          case 'recovery':
            res = await kratos.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: body as never });
            break;
          case 'verification':
            res = await kratos.updateVerificationFlow({ flow: flow.id, updateVerificationFlowBody: body as never });
            break;
          case 'settings':
            res = await kratos.updateSettingsFlow({ flow: flow.id, updateSettingsFlowBody: body as never });
            break;
        }
        const data = res.data as Record<string, unknown>;
        if (kind === 'login' || kind === 'registration') {
          await qc.invalidateQueries({ queryKey: meKey });
          return data;
        }
        // With continue_with transitions, a passed recovery says where to go next
        // (set a new password) instead of answering 422.
        const next = continueTo(data);
        if (next && next !== location.pathname + location.search) {
          await qc.invalidateQueries({ queryKey: meKey });
          navigate(next, { replace: true });
          return data;
        }
        // Recovery, verification and settings answer with the flow in its next state.
        if (data.ui) setFlow(data as unknown as Flow);
        // A changed name shows in the shell; refetch in the background.
        if (kind === 'settings') void qc.invalidateQueries({ queryKey: meKey });
        return data;
      } catch (e) {
        await handle(e);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [flow, kind, qc, handle, navigate],
  );

  return { flow, fatal, notice, throttledUntil, busy, submit, restart, returnTo };
}
