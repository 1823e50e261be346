// Every screen and its URL. Screens are loaded lazily so the first page stays
// small; each feature folder owns its pages and registers its own texts.
import { Suspense, lazy, type ReactNode } from 'react';
import { Navigate, createBrowserRouter } from 'react-router-dom';
import { RequireSession, TenantScope, useMe } from './session';
import { Loading, NotFound } from './states';

const L = (f: () => Promise<{ default: React.ComponentType }>) => {
  const C = lazy(f);
  return (
    <Suspense fallback={<Loading />}>
      <C />
    </Suspense>
  );
};

// The frame around tenant screens (menu, switcher, bell) loads with the first of them,
// so the signed-out screens stay small.
const Shell = lazy(() => import('./Shell'));

// Account (Kratos flows through /kratos).
const login = () => import('../features/account/LoginPage');
const registration = () => import('../features/account/RegistrationPage');
const recovery = () => import('../features/account/RecoveryPage');
const verification = () => import('../features/account/VerificationPage');
const accountSettings = () => import('../features/account/AccountSettingsPage');
const kratosError = () => import('../features/account/KratosErrorPage');
// Companies.
const createCompany = () => import('../features/tenants/CreateCompanyPage');
const tenantSettings = () => import('../features/tenants/TenantSettingsPage');
const overview = () => import('../features/home/OverviewPage');
// People and access.
const members = () => import('../features/access/MembersPage');
const roles = () => import('../features/access/RolesPage');
const teams = () => import('../features/access/TeamsPage');
const apiKeys = () => import('../features/access/ApiKeysPage');
const audit = () => import('../features/audit/AuditPage');
const webhooks = () => import('../features/webhooks/WebhooksPage');
const webhook = () => import('../features/webhooks/WebhookPage');
const leadForms = () => import('../features/forms/FormsPage');
// Customers.
const customers = () => import('../features/customers/CustomersPage');
const customer = () => import('../features/customers/CustomerPage');
const tasks = () => import('../features/tasks/TasksPage');
// Sales funnel.
const deals = () => import('../features/funnel/BoardPage');
// Service tickets.
const ticketsList = () => import('../features/tickets/TicketsPage');
const ticket = () => import('../features/tickets/TicketPage');
const serviceDesk = () => import('../features/tickets/ServiceDeskPage');
// Public pages of a company: no sign-in.
const csat = () => import('../features/tickets/CsatPage');
const ticketForm = () => import('../features/tickets/FormPage');
const leadForm = () => import('../features/forms/LeadFormPage');
// Analytics.
const analytics = () => import('../features/bi/AnalyticsPage');
const scheduledReports = () => import('../features/bi/ReportsPage');
const dashboards = () => import('../features/bi/DashboardsPage');
const fields = () => import('../features/fields/FieldsPage');
const importsList = () => import('../features/imports/ImportsPage');
const importWizard = () => import('../features/imports/ImportWizard');

/** Start sends a signed-in user to their company, or to the wizard when they have none. */
function Start() {
  const me = useMe().data!;
  if (me.memberships.length === 0) return <Navigate to="/welcome" replace />;
  const last = localStorage.getItem('clientele.tenant');
  const m = me.memberships.find((x) => x.slug === last) ?? me.memberships[0];
  return <Navigate to={`/t/${m.slug}`} replace />;
}

const session = (el: ReactNode) => <RequireSession>{el}</RequireSession>;

export const routes = [
  { path: '/login', element: L(login) },
  { path: '/registration', element: L(registration) },
  { path: '/recovery', element: L(recovery) },
  { path: '/verification', element: L(verification) },
  { path: '/error', element: L(kratosError) },
  { path: '/csat/:tenant/:token', element: L(csat) },
  { path: '/form/:tenant', element: L(ticketForm) },
  { path: '/lead-form/:tenant/:token', element: L(leadForm) },
  { path: '/settings', element: session(L(accountSettings)) },
  { path: '/welcome', element: session(L(createCompany)) },
  { path: '/', element: session(<Start />) },
  {
    path: '/t/:tenant',
    element: session(
      <TenantScope>
        <Suspense fallback={<Loading full />}>
          <Shell />
        </Suspense>
      </TenantScope>,
    ),
    children: [
      { index: true, element: L(overview) },
      { path: 'customers', element: L(customers) },
      { path: 'customers/:id', element: L(customer) },
      { path: 'tasks', element: L(tasks) },
      { path: 'deals', element: L(deals) },
      { path: 'tickets', element: L(ticketsList) },
      { path: 'tickets/:id', element: L(ticket) },
      { path: 'service-desk', element: L(serviceDesk) },
      { path: 'analytics', element: L(analytics) },
      { path: 'reports', element: L(scheduledReports) },
      { path: 'dashboards', element: L(dashboards) },
      { path: 'dashboards/:id', element: L(dashboards) },
      { path: 'imports', element: L(importsList) },
      { path: 'imports/new', element: L(importWizard) },
      { path: 'imports/:id', element: L(importWizard) },
      { path: 'fields', element: L(fields) },
      { path: 'fields/:entity', element: L(fields) },
      { path: 'members', element: L(members) },
      { path: 'roles', element: L(roles) },
      { path: 'teams', element: L(teams) },
      { path: 'api-keys', element: L(apiKeys) },
      { path: 'audit', element: L(audit) },
      { path: 'webhooks', element: L(webhooks) },
      { path: 'webhooks/:id', element: L(webhook) },
      { path: 'lead-forms', element: L(leadForms) },
      { path: 'settings', element: L(tenantSettings) },
      { path: '*', element: <NotFound /> },
    ],
  },
  { path: '*', element: <NotFound /> },
];

export const router = () => createBrowserRouter(routes);
