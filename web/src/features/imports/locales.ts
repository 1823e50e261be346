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
    step_upload: 'Upload',
    step_map: 'Map columns',
    step_preview: 'Check',
    step_run: 'Import',
    step_result: 'Result',
    drop: 'Click or drag a CSV or XLSX file here',
    dropHint: 'The first row must name the columns, e.g. 姓名, 电话, 邮箱, 公司.',
    encoding: 'Encoding',
    auto: 'Detect',
    column: 'Column in the file',
    target: 'Customer field',
    ignore: 'Do not import',
    sample: 'First rows',
    mode: 'Mode',
    mode_create: 'Create new customers',
    mode_update: 'Update existing customers',
    mode_upsert: 'Create or update',
    matchOn: 'Match existing customers by',
    email: 'Email',
    phone: 'Phone',
    dryRun: 'Check of the first rows',
    dryRunOk: 'The first {{n}} rows look good.',
    problems: '{{n}} problems in the first rows; fix the file, or import and download the report.',
    row: 'Row',
    value: 'Value',
    reason: 'Reason',
    start: 'Start import',
    cancel: 'Cancel import',
    revert: 'Revert import',
    revertConfirm: 'Delete the customers this import created and restore the ones it updated?',
    processed: '{{done}} of {{total}} rows',
    rate: '{{rate}} rows/s',
    eta: 'about {{s}} s left',
    created_n: 'Created',
    updated_n: 'Updated',
    skipped_n: 'Skipped',
    failed_n: 'Failed',
    report: 'Download the error report (CSV)',
    back: 'Back',
    next: 'Next',
    status_uploaded: 'Uploaded', status_queued: 'Queued', status_running: 'Running', status_completed: 'Completed',
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
    step_upload: '上传',
    step_map: '对应列',
    step_preview: '检查',
    step_run: '导入',
    step_result: '结果',
    drop: '点击或拖入 CSV 或 XLSX 文件',
    dropHint: '第一行须为列名，例如：姓名、电话、邮箱、公司。',
    encoding: '编码',
    auto: '自动识别',
    column: '文件中的列',
    target: '客户字段',
    ignore: '不导入',
    sample: '前几行',
    mode: '方式',
    mode_create: '新建客户',
    mode_update: '更新已有客户',
    mode_upsert: '新建或更新',
    matchOn: '匹配已有客户的依据',
    email: '邮箱',
    phone: '电话',
    dryRun: '前几行的检查结果',
    dryRunOk: '前 {{n}} 行没有问题。',
    problems: '前几行有 {{n}} 个问题；请修改文件，或先导入再下载错误报告。',
    row: '行',
    value: '值',
    reason: '原因',
    start: '开始导入',
    cancel: '取消导入',
    revert: '撤销导入',
    revertConfirm: '删除本次导入新建的客户，并恢复被更新的客户？',
    processed: '已处理 {{done}} / {{total}} 行',
    rate: '每秒 {{rate}} 行',
    eta: '约剩 {{s}} 秒',
    created_n: '新建',
    updated_n: '更新',
    skipped_n: '跳过',
    failed_n: '失败',
    report: '下载错误报告（CSV）',
    back: '上一步',
    next: '下一步',
    status_uploaded: '已上传', status_queued: '排队中', status_running: '进行中', status_completed: '已完成',
    status_failed: '失败', status_canceled: '已取消', status_reverting: '撤销中', status_reverted: '已撤销',
  },
});

export interface ImportView {
  id: string;
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
  error?: string;
  mapping?: Record<string, string>;
}

export interface ImportUpload extends ImportView {
  sample: string[][];
  suggested_mapping: Record<string, string>;
  dry_run: { row: number; column: string; value: string; reason: string; outcome: string }[];
  dry_run_checked: number;
}
