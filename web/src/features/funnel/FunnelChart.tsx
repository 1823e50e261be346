// ECharts with the pieces the funnel's analytics use, in their own chunk.
import { useEffect, useRef, useState } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, FunnelChart as Funnel, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';
import { onThemeChange, resolveDark, themeMode } from '../../app/theme';

echarts.use([BarChart, LineChart, Funnel, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

// The chart follows its card's width and the light or dark theme; the page
// around it renders the figures as text too.
export default function FunnelChart({ option, height = 280, label }: { option: EChartsCoreOption; height?: number; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const optionRef = useRef(option);
  const [dark, setDark] = useState(() => resolveDark(themeMode()));
  useEffect(() => onThemeChange(() => setDark(resolveDark(themeMode()))), []);
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, dark ? 'dark' : undefined, { renderer: 'canvas' });
    chart.current = c;
    c.setOption({ aria: { enabled: true }, backgroundColor: 'transparent', ...optionRef.current }, true);
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, [dark]);
  useEffect(() => {
    optionRef.current = option;
    chart.current?.setOption({ aria: { enabled: true }, backgroundColor: 'transparent', ...option }, true);
  }, [option]);
  return <div ref={el} role="img" aria-label={label} style={{ width: '100%', height }} />;
}
