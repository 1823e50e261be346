// Pipelines and their stages (管道与阶段): members who shape the pipelines
// (deals.manage) create a pipeline, rename it or make it the default, and add,
// rename, reorder and delete its stages with their probability, kind and
// rotting limit. A stage that still holds deals is deleted by naming the stage
// its deals move to, in one step on the server. Everyone else reads them.
import './locales';
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Drawer, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, EditOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, patch, post, put, tpath } from '../../app/api';
import { useCan } from '../../app/access';
import { useTenant } from '../../app/session';
import { stageName, type Pipeline, type Stage } from './board';

interface StageForm {
  name_en?: string;
  name_zh?: string;
  probability?: number;
  kind?: Stage['kind'];
  rotting_days?: number | null;
}

export default function PipelinesDrawer({ open, onClose, pipelines, current, onChoose }: {
  open: boolean;
  onClose: () => void;
  pipelines: Pipeline[];
  current?: string;
  onChoose: (id: string) => void;
}) {
  const { t, i18n } = useTranslation('funnel');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const manage = useCan('deals.manage');
  const [newForm] = Form.useForm();
  const [nameForm] = Form.useForm();
  const [stageForm] = Form.useForm();
  const [editing, setEditing] = useState<Stage | 'new' | null>(null);
  const [target, setTarget] = useState<string>();
  const p = pipelines.find((x) => x.id === current) ?? pipelines[0];
  const stages = [...(p?.stages ?? [])].sort((a, b) => a.position - b.position);
  const changed = () => {
    void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'pipelines'] });
    void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'board'] });
  };
  const fail = (form?: ReturnType<typeof Form.useForm>[0]) => (err: unknown) => {
    const { fields, rest } = formErrors(err);
    form?.setFields(fields);
    if (rest.length || !fields.length || !form) message.error(rest.join(' ') || errorMessage(err));
  };
  const create = useMutation({
    mutationFn: (v: { name_en?: string; name_zh?: string }) => post<Pipeline>(tpath(tenant.slug, '/pipelines'), v),
    onSuccess: (made) => {
      newForm.resetFields();
      message.success(t('pipes.created', { name: stageName(made, i18n.language) }));
      changed();
      onChoose(made.id);
    },
    onError: fail(newForm),
  });
  const rename = useMutation({
    mutationFn: (v: { name_en?: string; name_zh?: string; is_default?: boolean }) => patch<Pipeline>(tpath(tenant.slug, `/pipelines/${p!.id}`), v),
    onSuccess: () => {
      message.success(t('pipes.saved'));
      changed();
    },
    onError: fail(nameForm),
  });
  const saveStage = useMutation({
    mutationFn: (v: StageForm) => {
      const body = { ...v, rotting_days: v.rotting_days ?? (editing === 'new' ? undefined : 0) };
      return editing === 'new' || !editing
        ? post(tpath(tenant.slug, `/pipelines/${p!.id}/stages`), body)
        : patch(tpath(tenant.slug, `/pipelines/${p!.id}/stages/${editing.id}`), body);
    },
    onSuccess: () => {
      setEditing(null);
      changed();
    },
    onError: fail(stageForm),
  });
  const reorder = useMutation({
    mutationFn: (ids: string[]) => put(tpath(tenant.slug, `/pipelines/${p!.id}/stage-order`), { stage_ids: ids }),
    onSuccess: changed,
    onError: fail(),
  });
  const remove = useMutation({
    mutationFn: ({ stage, to }: { stage: Stage; to?: string }) =>
      del(tpath(tenant.slug, `/pipelines/${p!.id}/stages/${stage.id}${to ? `?target_stage_id=${encodeURIComponent(to)}` : ''}`)),
    onSuccess: () => {
      setTarget(undefined);
      changed();
    },
    onError: fail(),
  });
  const move = (i: number, by: number) => {
    const ids = stages.map((s) => s.id);
    const j = i + by;
    if (j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    reorder.mutate(ids);
  };
  const openStage = (s: Stage | 'new') => {
    setEditing(s);
    stageForm.setFieldsValue(s === 'new' ? { name_en: '', name_zh: '', probability: 50, kind: 'open', rotting_days: 14 } : { ...s, rotting_days: s.rotting_days ?? null });
  };

  return (
    <Drawer open={open} onClose={onClose} title={t('pipes.title')} size="large" destroyOnHidden>
      {manage && (
        <Form form={newForm} name="pipeline_new" layout="inline" onFinish={(v) => create.mutate(v)} style={{ marginBottom: 16, rowGap: 8 }} data-testid="pipeline-new">
          <Form.Item name="name_en" label={t('pipes.nameEn')}><Input maxLength={100} style={{ width: 160 }} /></Form.Item>
          <Form.Item name="name_zh" label={t('pipes.nameZh')}><Input maxLength={100} style={{ width: 140 }} /></Form.Item>
          <Button htmlType="submit" loading={create.isPending}>{t('pipes.create')}</Button>
        </Form>
      )}
      {p && (
        <>
          <Space wrap style={{ marginBottom: 12 }}>
            <label htmlFor="pipes-pipeline">{t('pipeline')}</label>
            <Select id="pipes-pipeline" style={{ minWidth: 200 }} value={p.id} onChange={onChoose}
              options={pipelines.map((x) => ({ value: x.id, label: stageName(x, i18n.language) }))} />
            {p.is_default ? <Tag color="blue">{t('pipes.default')}</Tag> : manage && (
              <Button size="small" onClick={() => rename.mutate({ is_default: true })}>{t('pipes.makeDefault')}</Button>
            )}
          </Space>
          {manage && (
            <Form key={p.id} form={nameForm} name="pipeline_rename" layout="inline" initialValues={{ name_en: p.name_en, name_zh: p.name_zh }}
              onFinish={(v) => rename.mutate(v)} style={{ marginBottom: 16, rowGap: 8 }} data-testid="pipeline-rename">
              <Form.Item name="name_en" label={t('pipes.nameEn')}><Input maxLength={100} style={{ width: 160 }} /></Form.Item>
              <Form.Item name="name_zh" label={t('pipes.nameZh')}><Input maxLength={100} style={{ width: 140 }} /></Form.Item>
              <Button htmlType="submit" loading={rename.isPending}>{t('pipes.rename')}</Button>
            </Form>
          )}
          <Typography.Paragraph type="secondary">{t('pipes.help')}</Typography.Paragraph>
          <Table size="small" rowKey="id" dataSource={stages} pagination={false} scroll={{ x: true }} data-testid="stages-table"
            columns={[
              ...(manage ? [{
                title: t('pipes.order'), key: 'order', width: 84,
                render: (_: unknown, s: Stage, i: number) => (
                  <Space size={0}>
                    <Button size="small" type="text" icon={<ArrowUpOutlined />} disabled={i === 0 || reorder.isPending} onClick={() => move(i, -1)}
                      aria-label={t('pipes.up', { name: stageName(s, i18n.language) })} />
                    <Button size="small" type="text" icon={<ArrowDownOutlined />} disabled={i === stages.length - 1 || reorder.isPending} onClick={() => move(i, 1)}
                      aria-label={t('pipes.down', { name: stageName(s, i18n.language) })} />
                  </Space>
                ),
              }] : []),
              { title: t('pipes.nameEn'), dataIndex: 'name_en' },
              { title: t('pipes.nameZh'), dataIndex: 'name_zh' },
              { title: t('pipes.probability'), dataIndex: 'probability', align: 'right' as const, render: (v: number) => `${v}%` },
              { title: t('pipes.kind'), dataIndex: 'kind', render: (k: Stage['kind']) => t(`pipes.kinds.${k}`) },
              { title: t('pipes.rotting'), dataIndex: 'rotting_days', align: 'right' as const, render: (v?: number) => (v ? t('pipes.days', { count: v }) : '—') },
              ...(manage ? [{
                title: '', key: 'actions', width: 88,
                render: (_: unknown, s: Stage) => (
                  <Space size={0}>
                    <Button size="small" type="text" icon={<EditOutlined />} onClick={() => openStage(s)} aria-label={t('pipes.edit', { name: stageName(s, i18n.language) })} />
                    <Popconfirm
                      title={t('pipes.confirmDelete', { name: stageName(s, i18n.language) })}
                      description={
                        <div style={{ maxWidth: 280 }}>
                          <p style={{ margin: '4px 0' }}>{t('pipes.moveDeals')}</p>
                          <Select style={{ width: '100%' }} allowClear value={target} onChange={setTarget} aria-label={t('pipes.moveDeals')}
                            options={stages.filter((x) => x.id !== s.id).map((x) => ({ value: x.id, label: stageName(x, i18n.language) }))} />
                        </div>
                      }
                      onConfirm={() => remove.mutate({ stage: s, to: target })}
                      onOpenChange={(o) => { if (!o) setTarget(undefined); }}>
                      <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('pipes.delete', { name: stageName(s, i18n.language) })} />
                    </Popconfirm>
                  </Space>
                ),
              }] : []),
            ]} />
          {manage && (
            <Button style={{ marginTop: 12 }} onClick={() => openStage('new')} data-testid="stage-add">{t('pipes.addStage')}</Button>
          )}
        </>
      )}
      <Modal open={!!editing} title={editing === 'new' ? t('pipes.addStage') : t('pipes.editStage')} onCancel={() => setEditing(null)}
        onOk={() => stageForm.submit()} confirmLoading={saveStage.isPending} destroyOnHidden forceRender>
        <Form form={stageForm} name="stage" layout="vertical" onFinish={(v: StageForm) => saveStage.mutate(v)} data-testid="stage-form">
          <Form.Item name="name_en" label={t('pipes.nameEn')}><Input maxLength={100} /></Form.Item>
          <Form.Item name="name_zh" label={t('pipes.nameZh')}><Input maxLength={100} /></Form.Item>
          <Form.Item name="probability" label={t('pipes.probability')} rules={[{ required: true, message: t('rates.required') }]}>
            <InputNumber min={0} max={100} addonAfter="%" />
          </Form.Item>
          <Form.Item name="kind" label={t('pipes.kind')}>
            <Select options={(['open', 'won', 'lost'] as const).map((k) => ({ value: k, label: t(`pipes.kinds.${k}`) }))} />
          </Form.Item>
          <Form.Item name="rotting_days" label={t('pipes.rotting')} extra={t('pipes.rottingHelp')}>
            <InputNumber min={1} max={3650} />
          </Form.Item>
        </Form>
      </Modal>
    </Drawer>
  );
}
