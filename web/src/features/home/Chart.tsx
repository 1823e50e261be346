// ECharts, with only the pieces the overview uses (loaded in its own chunk);
// the dashboards add theirs (features/bi/chartsExtra.ts).
import { useEffect, useRef, useState } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, AriaComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';
import { onThemeChange, resolveDark, themeMode } from '../../app/theme';

echarts.use([BarChart, LineChart, PieChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

/** A point clicked: its category index and series index. */
export interface ChartPoint {
  dataIndex: number;
  seriesIndex: number;
  /** value of a heatmap cell: [x, y, v] */
  value?: unknown;
}

// The chart follows its card's width (a ResizeObserver, so a phone's rotation or
// the menu drawer resizes it too) and the light or dark theme. Its text
// alternative (a summary and a data table) is rendered by the page around it, so
// it is there before this chunk loads.
export default function Chart({ option, height = 300, label, onPoint }: { option: EChartsCoreOption; height?: number | string; label: string; onPoint?: (p: ChartPoint) => void }) {
  const pointRef = useRef(onPoint);
  pointRef.current = onPoint;
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const [dark, setDark] = useState(() => resolveDark(themeMode()));
  useEffect(() => onThemeChange(() => setDark(resolveDark(themeMode()))), []);
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, dark ? 'dark' : undefined, { renderer: 'canvas' });
    chart.current = c;
    c.setOption({ aria: { enabled: true }, backgroundColor: 'transparent', ...optionRef.current }, true);
    c.on('click', (e) => pointRef.current?.({ dataIndex: e.dataIndex, seriesIndex: e.seriesIndex ?? 0, value: e.value }));
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, [dark]);
  const optionRef = useRef(option);
  useEffect(() => {
    optionRef.current = option;
    chart.current?.setOption({ aria: { enabled: true }, backgroundColor: 'transparent', ...option }, true);
  }, [option]);
  return <div ref={el} role="img" aria-label={label} style={{ width: '100%', height, cursor: onPoint ? 'pointer' : undefined }} />;
}
