import { registerLocales } from '../../app/i18n';

registerLocales('imports', {
  en: {
    title: 'Imports',
    subtitle: 'Bring customers in from spreadsheets: CSV (UTF-8 or GBK) or XLSX, up to 1,000,000 rows.',
    new: 'Import a file',
    file: 'File',
    created: 'Uploaded',
    status: 'Status',
    rows: 'Rows',
    by: 'By',
    modeCol: 'Mode',
    empty: 'No imports yet. Bring your customers in from a spreadsheet.',
    step_upload: 'Upload',
    step_map: 'Map columns',
    step_preview: 'Check',
    step_run: 'Import',
    step_result: 'Result',
    drop: 'Click or drag a CSV or XLSX file here',
    dropHint: 'The first row must name the columns, e.g. 姓名, 电话, 邮箱, 公司. Up to 1,000,000 rows or 200 MB.',
    uploading: 'Uploading and reading {{name}}…',
    uploadFailed: 'The file could not be read',
    encoding: 'Encoding',
    auto: 'Detect',
    column: 'Column in the file',
    target: 'Customer field',
    ignore: 'Do not import',
    suggested: 'Suggested',
    sample: 'First values',
    mode: 'Mode',
    mode_create: 'Create new customers',
    entity: 'What the rows are',
    exportPurchases: 'Export purchases',
    entity_customers: 'Customers',
    entity_purchases: 'Purchases (order history)',
    entity_deals: 'Deals',
    dealsHint: 'Each row is a new deal: its title, the customer’s email, the pipeline and stage by name (English or Chinese), amount, currency, expected close date, source, tags and custom fields. A row whose customer, pipeline or stage is not found is reported, not created.',
    purchasesHint: 'Each row is an order: its order number, the customer’s email, phone or unique field, the date, amount, currency and product. An order imported before is skipped; a row whose customer is not found is reported, not created.',
    mode_update: 'Update existing customers',
    mode_upsert: 'Create or update',
    matchOn: 'Match existing customers by',
    email: 'Email',
    phone: 'Phone',
    company: 'Company',
    needName: 'Map a column to Name: new customers need one.',
    twice: '{{field}} is mapped from two columns: {{cols}}. Map it from one.',
    mappedCount: '{{n}} of {{total}} columns will be imported',
    dryRun: 'Check of the first rows',
    dryRunOk: 'The first {{n}} rows look good.',
    problems: '{{n}} problems in the first rows; fix the file, or import and download the report.',
    dryRunMapping: 'The check used the suggested mapping; your changes are checked when the import runs.',
    previewRows: 'The first rows as they will be imported',
    row: 'Row',
    value: 'Value',
    reason: 'Reason',
    outcome: 'Outcome',
    outcome_failed: 'Rejected',
    outcome_skipped: 'Skipped',
    start: 'Start import',
    cancel: 'Cancel import',
    cancelConfirm: 'Stop the import at the next batch? Rows already imported stay; you can revert them.',
    revert: 'Revert import',
    revertConfirm: 'Delete the customers this import created and restore the ones it updated?',
    processed: '{{done}} of {{total}} rows',
    rate: '{{rate}} rows/s',
    eta: 'about {{t}} left',
    waiting: 'Waiting for a worker…',
    reverting: 'Reverting: {{done}} of {{total}} customers',
    created_n: 'Created',
    updated_n: 'Updated',
    skipped_n: 'Skipped',
    failed_n: 'Failed',
    report: 'Download the error report (CSV)',
    back: 'Back',
    next: 'Next',
    another: 'Import another file',
    viewCustomers: 'View customers',
    done_completed: 'Import completed',
    done_failed: 'Import failed',
    done_canceled: 'Import canceled',
    done_reverted: 'Import reverted',
    doneSub: '{{total}} rows: every row is counted once below.',
    revertedSub: 'The customers it created are deleted and the ones it updated are restored.',
    status_uploaded: 'Not started', status_queued: 'Queued', status_running: 'Running', status_completed: 'Completed',
    status_failed: 'Failed', status_canceled: 'Canceled', status_reverting: 'Reverting', status_reverted: 'Reverted',
  },
  zh: {
    title: '导入',
    subtitle: '从表格导入客户：CSV（UTF-8 或 GBK）或 XLSX，最多 1,000,000 行。',
    new: '导入文件',
    file: '文件',
    created: '上传时间',
    status: '状态',
    rows: '行数',
    by: '操作人',
    modeCol: '方式',
    empty: '还没有导入记录。从表格导入您的客户吧。',
    step_upload: '上传',
    step_map: '对应列',
    step_preview: '检查',
    step_run: '导入',
    step_result: '结果',
    drop: '点击或拖入 CSV 或 XLSX 文件',
    dropHint: '第一行须为列名，例如：姓名、电话、邮箱、公司。最多 1,000,000 行或 200 MB。',
    uploading: '正在上传并读取 {{name}}…',
    uploadFailed: '无法读取该文件',
    encoding: '编码',
    auto: '自动识别',
    column: '文件中的列',
    target: '客户字段',
    ignore: '不导入',
    suggested: '建议',
    sample: '示例值',
    mode: '方式',
    mode_create: '新建客户',
    entity: '导入内容',
    exportPurchases: '导出购买记录',
    entity_customers: '客户',
    entity_purchases: '购买记录（订单）',
    entity_deals: '商机',
    dealsHint: '每行一个新商机：标题、客户邮箱、销售流程和阶段的名称（中文或英文）、金额、币种、预计成交日期、来源、标签和自定义字段。找不到客户、流程或阶段的行会列入报告，不会创建。',
    purchasesHint: '每行一个订单：订单号、客户的邮箱/电话/唯一字段、日期、金额、币种和商品。已导入的订单会跳过；找不到客户的行会列入报告，不会创建。',
    mode_update: '更新已有客户',
    mode_upsert: '新建或更新',
    matchOn: '匹配已有客户的依据',
    email: '邮箱',
    phone: '电话',
    company: '公司',
    needName: '请将一列对应到“姓名”：新建客户需要姓名。',
    twice: '{{field}}同时对应了两列：{{cols}}。请只保留一列。',
    mappedCount: '共 {{total}} 列，将导入其中 {{n}} 列',
    dryRun: '前几行的检查结果',
    dryRunOk: '前 {{n}} 行没有问题。',
    problems: '前几行有 {{n}} 个问题；请修改文件，或先导入再下载错误报告。',
    dryRunMapping: '检查使用的是建议的对应关系；您的修改会在导入时检查。',
    previewRows: '前几行的导入效果',
    row: '行',
    value: '值',
    reason: '原因',
    outcome: '结果',
    outcome_failed: '拒绝',
    outcome_skipped: '跳过',
    start: '开始导入',
    cancel: '取消导入',
    cancelConfirm: '在下一批次停止导入？已导入的行会保留，之后可以撤销。',
    revert: '撤销导入',
    revertConfirm: '删除本次导入新建的客户，并恢复被更新的客户？',
    processed: '已处理 {{done}} / {{total}} 行',
    rate: '每秒 {{rate}} 行',
    eta: '约剩 {{t}}',
    waiting: '正在等待处理…',
    reverting: '正在撤销：{{done}} / {{total}} 个客户',
    created_n: '新建',
    updated_n: '更新',
    skipped_n: '跳过',
    failed_n: '失败',
    report: '下载错误报告（CSV）',
    back: '上一步',
    next: '下一步',
    another: '导入其他文件',
    viewCustomers: '查看客户',
    done_completed: '导入完成',
    done_failed: '导入失败',
    done_canceled: '导入已取消',
    done_reverted: '导入已撤销',
    doneSub: '共 {{total}} 行：每一行都只计入下方的一项。',
    revertedSub: '本次导入新建的客户已删除，被更新的客户已恢复。',
    status_uploaded: '未开始', status_queued: '排队中', status_running: '进行中', status_completed: '已完成',
    status_failed: '失败', status_canceled: '已取消', status_reverting: '撤销中', status_reverted: '已撤销',
  },
});

export interface ImportView {
  id: string;
  entity?: string;
  status: string;
  filename: string;
  format: string;
  encoding: string;
  columns: string[];
  total: number;
  processed: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  reverted: number;
  progress: number;
  rows_per_second: number;
  eta_seconds?: number;
  errors_url: string;
  created_at: string;
  created_by?: string;
  started_at?: string;
  finished_at?: string;
  error?: string;
  mode?: string;
  match_on?: string;
  mapping?: Record<string, string>;
}

export interface ImportProblem { row: number; column: string; value: string; reason: string; outcome: string }

/** ImportTarget is what a column can be mapped to, as the entity's adapter names it. */
export interface ImportTarget { key: string; label_en: string; label_zh?: string; sensitive?: boolean }

export interface ImportUpload extends ImportView {
  targets?: ImportTarget[];
  sample: string[][];
  suggested_mapping: Record<string, string>;
  dry_run: ImportProblem[];
  dry_run_checked: number;
}

export const STATUS_COLOR: Record<string, string> = {
  uploaded: 'default', queued: 'blue', running: 'processing', completed: 'success', failed: 'error', canceled: 'warning', reverting: 'processing', reverted: 'default',
};
