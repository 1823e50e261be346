import { registerLocales } from '../../app/i18n';

const en = {
  title: 'Overview',
  subtitle: 'How {{name}} is doing',
  total: 'Customers',
  openTasks: 'Open tasks',
  overdue: 'Overdue tasks',
  customersThisWeek: 'New this week',
  byLifecycle: 'Customers by stage',
  byWeek: 'New customers, last 12 weeks',
  newCustomers: 'New customers',
  emptyTitle: 'No customers yet',
  emptyText: 'Add your first customer or import a spreadsheet, and this page fills with charts.',
  addCustomer: 'Add a customer',
  importCsv: 'Import a CSV',
  unavailable: 'Customer statistics are not available for this company yet.',
  lifecycle: { lead: 'Lead', prospect: 'Prospect', customer: 'Customer', at_risk: 'At risk', churned: 'Churned', none: 'No stage' },
};
const zh: typeof en = {
  title: '概览',
  subtitle: '{{name}} 的经营概况',
  total: '客户总数',
  openTasks: '待办任务',
  overdue: '逾期任务',
  customersThisWeek: '本周新增',
  byLifecycle: '各阶段客户',
  byWeek: '近 12 周新增客户',
  newCustomers: '新增客户',
  emptyTitle: '还没有客户',
  emptyText: '添加第一位客户或导入表格后，这里会显示图表。',
  addCustomer: '添加客户',
  importCsv: '导入 CSV',
  unavailable: '该公司暂时无法查看客户统计。',
  lifecycle: { lead: '线索', prospect: '潜在客户', customer: '成交客户', at_risk: '流失风险', churned: '已流失', none: '未设置阶段' },
};
registerLocales('home', { en, zh });
