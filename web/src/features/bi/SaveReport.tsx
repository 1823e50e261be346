// The report builder's last step: the question asked on the analytics screen
// saved as a report (a name in both languages, a chart, a range that moves
// with the calendar or the days picked, private or shared with roles), and
// put on a dashboard if one is chosen.
import './locales';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Form, Input, Modal, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { errorMessage, formErrors, get, post, put, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import type { Question } from './api';
import { CHARTS, PRESETS, addWidget, dashboardBody, nameOf, type ChartKind, type Dashboard, type Report, type ReportInput } from './dashboards';

export interface SaveForm {
  name: string;
  name_zh?: string;
  chart: ChartKind;
  range: string;
  shared_roles: string[];
  dashboard?: string;
}

/** reportInput turns the question and the form into POST /bi/reports's body. */
export function reportInput(q: Question, v: SaveForm): ReportInput {
  return {
    name: v.name.trim(),
    name_zh: v.name_zh?.trim() || undefined,
    chart: v.chart,
    query: {
      metric: q.metric,
      dimensions: q.dimensions?.length ? q.dimensions : undefined,
      bucket: q.bucket,
      compare: q.compare || undefined,
      range: v.range === 'custom' ? { preset: 'custom', from: q.from, to: q.to } : { preset: v.range },
    },
    shared_roles: v.shared_roles?.length ? v.shared_roles : undefined,
  };
}

export default function SaveReport({ open, onClose, question, chart, metricLabel }: {
  open: boolean; onClose: () => void; question: Question; chart: string; metricLabel: string;
}) {
  const { t, i18n } = useTranslation('bi');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<SaveForm>();
  const roles = useQuery({
    queryKey: ['tenant', tenant.slug, 'roles'],
    queryFn: async () => (await get<{ items: { key: string; name: string }[] }>(tpath(tenant.slug, '/roles'))).items,
    retry: false,
  });
  const dashboards = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'dashboards'],
    queryFn: () => get<{ items: Dashboard[] }>(tpath(tenant.slug, '/bi/dashboards'), { limit: 200 }),
  });
  const save = useMutation({
    mutationFn: async (v: SaveForm) => {
      const r = await post<Report>(tpath(tenant.slug, '/bi/reports'), reportInput(question, v));
      if (!v.dashboard) return { r };
      const d = await get<Dashboard>(tpath(tenant.slug, `/bi/dashboards/${v.dashboard}`));
      await put<Dashboard>(tpath(tenant.slug, `/bi/dashboards/${d.id}`), dashboardBody(d, { widgets: addWidget(d.widgets, r.id, r.chart) }));
      return { r, d };
    },
    onSuccess: ({ d }) => {
      message.success(d ? t('report_saved_added', { name: nameOf(d, i18n.language) }) : t('report_saved'));
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'bi'] });
      onClose();
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      const known = ['name', 'name_zh', 'chart', 'shared_roles'];
      form.setFields(fields.filter((x) => known.includes(String(x.name[0]))).map((x) => ({ name: x.name[0] as keyof SaveForm, errors: x.errors })));
      const other = fields.filter((x) => !known.includes(String(x.name[0]))).flatMap((x) => x.errors);
      if (rest.length || other.length || !fields.length) message.error([...rest, ...other].join(' ') || errorMessage(err));
    },
  });
  const roleOptions = (roles.data ?? []).map((r) => ({ value: r.key, label: r.name }));
  return (
    <Modal open={open} title={t('save_report')} onCancel={onClose} onOk={() => form.submit()} confirmLoading={save.isPending} destroyOnHidden
      okButtonProps={{ 'data-testid': 'bi-save-report-ok' } as Record<string, string>}>
      <Form<SaveForm> form={form} layout="vertical" initialValues={{ name: metricLabel, chart, range: 'custom', shared_roles: [] }}
        onFinish={(v) => save.mutate(v)}>
        <Form.Item name="name" label={t('report_name')} rules={[{ required: true, whitespace: true }]}><Input maxLength={200} /></Form.Item>
        <Form.Item name="name_zh" label={t('report_name_zh')}><Input maxLength={200} /></Form.Item>
        <Form.Item name="chart" label={t('chart_type')}>
          <Select options={CHARTS.map((c) => ({ value: c, label: t('chart_' + c) }))} />
        </Form.Item>
        <Form.Item name="range" label={t('range')}>
          <Select options={[{ value: 'custom', label: `${t('preset_custom')}: ${question.from} – ${question.to}` }, ...PRESETS.map((p) => ({ value: p, label: t('preset_' + p) }))]} />
        </Form.Item>
        <Form.Item name="shared_roles" label={t('share_with')} extra={t('share_none')}>
          <Select mode={roles.error ? 'tags' : 'multiple'} options={roleOptions} placeholder={t('share_none')} aria-label={t('share_with')} />
        </Form.Item>
        <Form.Item name="dashboard" label={t('add_to_dashboard')}>
          <Select allowClear placeholder={t('add_to_none')} aria-label={t('add_to_dashboard')} data-testid="bi-save-dashboard"
            options={(dashboards.data?.items ?? []).map((d) => ({ value: d.id, label: nameOf(d, i18n.language) }))} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
