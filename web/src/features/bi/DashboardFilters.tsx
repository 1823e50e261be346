// The dashboard's global filters: shown as tags above the grid, and edited
// (by whoever may change the dashboard) as rows of "dimension is / is not
// values". The server adds each filter to every widget whose metric allows
// its dimension; the editor says how many widgets that is.
import './locales';
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Button, Modal, Select, Space, Tag, Typography } from 'antd';
import { DeleteOutlined, FilterOutlined, PlusOutlined } from '@ant-design/icons';
import type { ButtonProps } from 'antd';
import { useTranslation } from 'react-i18next';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useShow } from './WidgetView';
import { label, type Metric, type Result } from './api';
import { draftOf, filterDimensions, filterReach, filtersOf, type Filter, type FilterDraft, type WidgetResult } from './dashboards';

export default function DashboardFilters({ filters, results, canEdit, saving, onSave }: {
  filters: Filter[];
  /** the widgets' numbers: their metrics say which dimensions a filter can name, their rows offer values */
  results: (WidgetResult | undefined)[];
  canEdit: boolean;
  saving: boolean;
  onSave: (f: Filter[]) => Promise<unknown>;
}) {
  const { t, i18n } = useTranslation('bi');
  const lang = i18n.language;
  const tenant = useTenant();
  const metrics = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'metrics'],
    queryFn: () => get<{ items: Metric[] }>(tpath(tenant.slug, '/bi/metrics')),
    staleTime: 5 * 60_000,
  });
  const [rows, setRows] = useState<FilterDraft[] | null>(null);
  const used = results.flatMap((r) => (r?.result ? [r.result.metric] : []));
  const all = metrics.data?.items ?? [];
  const dims = filterDimensions(all, used);
  const dimNames = [...new Set([...filters.map((f) => f.dimension), ...(rows ?? []).map((r) => r.dimension)])];
  const { name } = useShow({ dimensions: dimNames, rows: [] } as unknown as Result);
  const dimLabel = (key: string) => {
    for (const m of all) {
      const d = m.dimensions.find((x) => x.key === key);
      if (d) return label(d, lang);
    }
    return key;
  };
  // Values to offer: those the widgets' rows hold for the dimension, by name.
  const valuesOf = (dim: string) => {
    const seen = new Set<string>();
    for (const r of results) {
      const res = r?.result;
      const i = res?.dimensions.indexOf(dim) ?? -1;
      if (!res || i < 0) continue;
      for (const row of res.rows) if (row.keys[i]) seen.add(row.keys[i]);
    }
    return [...seen].map((v) => ({ value: v, label: name(dim, v) }));
  };
  const tagText = (f: Filter) => t('filter_tag', {
    dimension: dimLabel(f.dimension),
    how: t(f.op === 'ne' ? 'filter_is_not' : 'filter_is'),
    values: f.values.map((v) => name(f.dimension, v)).join(', '),
  });
  const set = (i: number, patch: Partial<FilterDraft>) => setRows((rs) => (rs ?? []).map((r, k) => (k === i ? { ...r, ...patch } : r)));

  return (
    <div className="bi-filters" data-testid="bi-filters">
      <Space wrap size={[6, 6]} align="center">
        <Typography.Text type="secondary"><FilterOutlined aria-hidden /> {t('filters')}:</Typography.Text>
        {filters.length === 0 ? <Typography.Text type="secondary">{t('filters_none')}</Typography.Text>
          : filters.map((f, i) => <Tag key={i} data-testid="bi-filter-tag">{tagText(f)}</Tag>)}
        {canEdit && (
          <Button size="small" onClick={() => setRows(filters.map(draftOf))} data-testid="bi-edit-filters">{t('filters_edit')}</Button>
        )}
      </Space>
      <Modal open={rows !== null} title={t('filters')} onCancel={() => setRows(null)} destroyOnHidden
        okText={t('filters_save')} cancelText={t('cancel')} confirmLoading={saving} okButtonProps={{ 'data-testid': 'bi-save-filters' } as ButtonProps}
        onOk={() => onSave(filtersOf(rows ?? [])).then(() => setRows(null), () => undefined)}>
        <Typography.Paragraph type="secondary">{t('filters_help')}</Typography.Paragraph>
        {dims.length === 0 && <Typography.Paragraph type="secondary">{t('filter_no_dimensions')}</Typography.Paragraph>}
        {(rows ?? []).map((r, i) => (
          <fieldset key={i} className="bi-filter-row" data-testid="bi-filter-row">
            <legend className="sr-only">{`${t('filters')} ${i + 1}`}</legend>
            <Select aria-label={t('filter_dimension')} placeholder={t('filter_dimension')} value={r.dimension || undefined} className="bi-filter-dim"
              showSearch optionFilterProp="label" data-testid="bi-filter-dimension"
              onChange={(v: string) => set(i, { dimension: v, values: [] })}
              options={[...dims.map((d) => ({ value: d.key, label: label(d, lang) })),
                ...(r.dimension && !dims.some((d) => d.key === r.dimension) ? [{ value: r.dimension, label: dimLabel(r.dimension) }] : [])]} />
            <Select aria-label={t('filter_how')} value={r.negate ? 'ne' : 'is'} className="bi-filter-how" onChange={(v) => set(i, { negate: v === 'ne' })}
              options={[{ value: 'is', label: t('filter_is') }, { value: 'ne', label: t('filter_is_not') }]} />
            <Select mode="tags" aria-label={t('filter_values')} placeholder={t('filter_values_placeholder')} value={r.values} className="bi-filter-values"
              data-testid="bi-filter-values" tokenSeparators={[',']} maxCount={100}
              onChange={(v: string[]) => set(i, { values: v })} options={r.dimension ? valuesOf(r.dimension) : []} />
            <Space size={4}>
              {r.dimension && <Typography.Text type="secondary">{t('filter_reach', { count: filterReach(r.dimension, all, used), total: used.length })}</Typography.Text>}
              <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('filter_remove')}
                onClick={() => setRows((rs) => (rs ?? []).filter((_, k) => k !== i))} />
            </Space>
          </fieldset>
        ))}
        <Button icon={<PlusOutlined />} disabled={(rows?.length ?? 0) >= 10} onClick={() => setRows((rs) => [...(rs ?? []), { dimension: '', negate: false, values: [] }])}
          data-testid="bi-add-filter">{t('filter_add')}</Button>
      </Modal>
    </div>
  );
}
