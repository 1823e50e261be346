// The filter builder's date pickers, in a chunk of their own (loaded with
// the first date row).
import { DatePicker as AntDatePicker } from 'antd';

export const DatePicker = AntDatePicker;
export const RangePicker = AntDatePicker.RangePicker;
