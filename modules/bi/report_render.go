package bi

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/clientele-crm/clientele/platform/measures"
)

// The size of a widget's picture, in pixels.
const (
	chartW = 960
	chartH = 540
)

// maxSeries caps the lines or bar colours of one chart; the rest are summed
// into one "other" series.
const maxSeries = 8

var (
	inkText  = color.RGBA{0x1f, 0x29, 0x37, 0xff}
	inkMuted = color.RGBA{0x6b, 0x72, 0x80, 0xff}
	inkGrid  = color.RGBA{0xe5, 0xe7, 0xeb, 0xff}
	palette  = []color.RGBA{{0x54, 0x70, 0xc6, 0xff}, {0x91, 0xcc, 0x75, 0xff}, {0xfa, 0xc8, 0x58, 0xff}, {0xee, 0x66, 0x66, 0xff},
		{0x73, 0xc0, 0xde, 0xff}, {0x3b, 0xa2, 0x72, 0xff}, {0xfc, 0x84, 0x52, 0xff}, {0x9a, 0x60, 0xb4, 0xff}, {0xa0, 0xa0, 0xa0, 0xff}}
)

// chartData is a result laid out for drawing: categories along x, one
// series per value of the second dimension.
type chartData struct {
	cats   []string
	series []string
	vals   [][]float64 // [series][category]; NaN where there is no value
}

// none is how an empty dimension value (a customer without an owner) reads.
const none = "(none 无)"

func label(s string) string {
	if s == "" {
		return none
	}
	return s
}

func num(v *string) float64 {
	if v == nil {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(*v, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// layout puts time (or the first dimension) along x and the other
// dimension's values in series, the largest first, each value by its name.
func layout(res *measures.Result, vn dimNames) chartData {
	var d chartData
	xi, si := -1, -1
	switch len(res.Dimensions) {
	case 1:
		xi = 0
	case 2:
		xi, si = 0, 1
		if res.Dimensions[1] == measures.DimTime {
			xi, si = 1, 0
		}
	}
	catIdx, serIdx := map[string]int{}, map[string]int{}
	type cell struct {
		c, s string
		v    float64
	}
	var cells []cell
	totals := map[string]float64{}
	for _, r := range res.Rows {
		c, s := "", ""
		if xi >= 0 && xi < len(r.Keys) {
			c = label(vn.of(res.Dimensions[xi], r.Keys[xi]))
		}
		if si >= 0 && si < len(r.Keys) {
			s = label(vn.of(res.Dimensions[si], r.Keys[si]))
		}
		if _, ok := catIdx[c]; !ok {
			catIdx[c] = len(d.cats)
			d.cats = append(d.cats, c)
		}
		v := num(r.Value)
		if !math.IsNaN(v) {
			totals[s] += math.Abs(v)
		}
		if _, ok := totals[s]; !ok {
			totals[s] = 0
		}
		cells = append(cells, cell{c, s, v})
	}
	names := make([]string, 0, len(totals))
	for s := range totals {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	other := ""
	if len(names) > maxSeries {
		other = "other 其他"
		names = append(names[:maxSeries-1], other)
	}
	for i, s := range names {
		serIdx[s] = i
	}
	d.series = names
	d.vals = make([][]float64, len(names))
	for i := range d.vals {
		d.vals[i] = make([]float64, len(d.cats))
		for j := range d.vals[i] {
			d.vals[i][j] = math.NaN()
		}
	}
	for _, c := range cells {
		i, ok := serIdx[c.s]
		if !ok {
			i = serIdx[other]
		}
		j := catIdx[c.c]
		switch {
		case math.IsNaN(c.v):
		case math.IsNaN(d.vals[i][j]):
			d.vals[i][j] = c.v
		default:
			d.vals[i][j] += c.v
		}
	}
	return d
}

// canvas draws on an RGBA picture with the report font.
type canvas struct {
	img   *image.RGBA
	font  *opentype.Font
	faces map[float64]font.Face
}

func newCanvas(f *reportFont, w, h int) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	return &canvas{img: img, font: f.face, faces: map[float64]font.Face{}}
}

func (c *canvas) face(size float64) font.Face {
	if f, ok := c.faces[size]; ok {
		return f
	}
	f, err := opentype.NewFace(c.font, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		f = nil
	}
	c.faces[size] = f
	return f
}

// text draws s with its baseline at (x, y); align 0 left, 1 centre, 2 right.
// A text wider than maxW is cut with an ellipsis. It returns what it drew.
func (c *canvas) text(s string, x, y int, size float64, ink color.Color, align int, maxW int) string {
	f := c.face(size)
	if f == nil {
		return ""
	}
	d := &font.Drawer{Dst: c.img, Src: image.NewUniform(ink), Face: f}
	if maxW > 0 && d.MeasureString(s).Ceil() > maxW {
		r := []rune(s)
		for len(r) > 1 && d.MeasureString(string(r)+"…").Ceil() > maxW {
			r = r[:len(r)-1]
		}
		s = string(r) + "…"
	}
	w := d.MeasureString(s).Ceil()
	switch align {
	case 1:
		x -= w / 2
	case 2:
		x -= w
	}
	d.Dot = fixed.P(x, y)
	d.DrawString(s)
	return s
}

// measure is the width of s drawn at size, in pixels.
func (c *canvas) measure(s string, size float64) int {
	f := c.face(size)
	if f == nil {
		return 0
	}
	return font.MeasureString(f, s).Ceil()
}

func (c *canvas) rect(x0, y0, x1, y1 int, ink color.Color) {
	draw.Draw(c.img, image.Rect(x0, y0, x1, y1), image.NewUniform(ink), image.Point{}, draw.Over)
}

// polyline strokes the points with width w, anti-aliased.
func (c *canvas) polyline(pts [][2]float32, w float32, ink color.Color) {
	if len(pts) == 0 {
		return
	}
	b := c.img.Bounds()
	r := vector.NewRasterizer(b.Dx(), b.Dy())
	for i := 0; i+1 < len(pts); i++ {
		a, z := pts[i], pts[i+1]
		dx, dy := z[0]-a[0], z[1]-a[1]
		l := float32(math.Hypot(float64(dx), float64(dy)))
		if l == 0 {
			continue
		}
		nx, ny := -dy/l*w/2, dx/l*w/2
		r.MoveTo(a[0]+nx, a[1]+ny)
		r.LineTo(z[0]+nx, z[1]+ny)
		r.LineTo(z[0]-nx, z[1]-ny)
		r.LineTo(a[0]-nx, a[1]-ny)
		r.ClosePath()
	}
	r.Draw(c.img, b, image.NewUniform(ink), image.Point{})
	// Round joins, and a dot for a lone point, drawn apart: overlapping the
	// segments in one path would cancel where their windings differ.
	for _, p := range pts {
		d := vector.NewRasterizer(b.Dx(), b.Dy())
		dot(d, p[0], p[1], w*0.9)
		d.Draw(c.img, b, image.NewUniform(ink), image.Point{})
	}
}

func dot(r *vector.Rasterizer, x, y, d float32) {
	const k = 8
	for i := 0; i <= k; i++ {
		a := float64(i) / k * 2 * math.Pi
		px, py := x+d*float32(math.Cos(a)), y+d*float32(math.Sin(a))
		if i == 0 {
			r.MoveTo(px, py)
		} else {
			r.LineTo(px, py)
		}
	}
	r.ClosePath()
}

// area fills the polygon under a line down to the baseline.
func (c *canvas) area(pts [][2]float32, base float32, ink color.RGBA) {
	if len(pts) < 2 {
		return
	}
	b := c.img.Bounds()
	r := vector.NewRasterizer(b.Dx(), b.Dy())
	r.MoveTo(pts[0][0], base)
	for _, p := range pts {
		r.LineTo(p[0], p[1])
	}
	r.LineTo(pts[len(pts)-1][0], base)
	r.ClosePath()
	r.Draw(c.img, b, image.NewUniform(color.NRGBA{ink.R, ink.G, ink.B, 0x40}), image.Point{})
}

func (c *canvas) png() ([]byte, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, c.img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// niceTicks are round axis values covering lo..hi.
func niceTicks(lo, hi float64, n int) []float64 {
	if lo == hi {
		hi = lo + 1
	}
	step := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= step {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Floor(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	if out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

// short writes a number for an axis: 1.2k, 3.4M, 56.
func short(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', -1, 64) + "B"
	case a >= 1e6:
		return strconv.FormatFloat(math.Round(v/1e5)/10, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(math.Round(v/1e2)/10, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// unitOf names a result's unit after its numbers.
func unitOf(res *measures.Result) string {
	switch res.Unit {
	case measures.Money:
		return res.Currency
	case measures.Percent:
		return "%"
	case measures.Duration:
		return "s"
	}
	return ""
}

// RenderWidget draws one widget as a PNG: a KPI as its figure and the
// change from the previous period, a line or area chart as lines, a funnel
// as centred bars beside their names, every other chart as bars (stacked
// for stacked_bar). Labels may be Chinese. Dimension values show as they
// are; renderWidget names them.
func (m *Module) RenderWidget(title, subtitle, chart string, res *measures.Result) ([]byte, error) {
	return m.renderWidget(title, subtitle, chart, res, nil)
}

// renderWidget is RenderWidget with the names of the dimension values.
func (m *Module) renderWidget(title, subtitle, chart string, res *measures.Result, names dimNames) ([]byte, error) {
	f, err := m.fonts.load(m.d.FontPath)
	if err != nil {
		return nil, err
	}
	c := newCanvas(f, chartW, chartH)
	c.text(title, 24, 40, 24, inkText, 0, chartW-48)
	c.text(subtitle, 24, 66, 14, inkMuted, 0, chartW-48)
	if res == nil {
		return c.png()
	}
	d := layout(res, names)
	if chart == "kpi" || len(d.cats) == 0 || (len(res.Dimensions) == 0) {
		drawKPI(c, res)
		return c.png()
	}
	if chart == "funnel" {
		drawFunnel(c, d, unitOf(res))
		return c.png()
	}
	drawAxes(c, d, chart, unitOf(res))
	return c.png()
}

func drawKPI(c *canvas, res *measures.Result) {
	var v, p float64
	hasP := false
	for _, r := range res.Rows {
		if x := num(r.Value); !math.IsNaN(x) {
			v += x
		}
		if r.Previous != nil {
			hasP = true
			if x := num(r.Previous); !math.IsNaN(x) {
				p += x
			}
		}
	}
	if len(res.Rows) == 0 {
		c.text("no data 无数据", chartW/2, chartH/2+20, 40, inkMuted, 1, 0)
		return
	}
	c.text(strings.TrimSpace(short(v)+" "+unitOf(res)), chartW/2, chartH/2+30, 96, inkText, 1, chartW-48)
	if hasP {
		ink, delta := inkMuted, "±0"
		if p != 0 || v != 0 {
			switch {
			case v > p:
				ink, delta = palette[5], "▲ +"+short(v-p)
			case v < p:
				ink, delta = palette[3], "▼ "+short(v-p)
			}
			if p != 0 {
				delta += fmt.Sprintf(" (%+.1f%%)", (v-p)/math.Abs(p)*100)
			}
		}
		c.text(delta+"  vs previous 较上期", chartW/2, chartH/2+90, 24, ink, 1, chartW-48)
	}
}

func drawAxes(c *canvas, d chartData, chart, unit string) {
	const left, right, top = 88, 24, 96
	bottom := chartH - 64
	if len(d.series) > 1 {
		bottom -= 28
	}
	stacked := chart == "stacked_bar"
	lo, hi := 0.0, 0.0
	for j := range d.cats {
		pos, neg := 0.0, 0.0
		for i := range d.series {
			v := d.vals[i][j]
			if math.IsNaN(v) {
				continue
			}
			if stacked {
				if v > 0 {
					pos += v
				} else {
					neg += v
				}
			} else {
				hi, lo = math.Max(hi, v), math.Min(lo, v)
			}
		}
		hi, lo = math.Max(hi, pos), math.Min(lo, neg)
	}
	ticks := niceTicks(lo, hi, 5)
	lo, hi = ticks[0], ticks[len(ticks)-1]
	y := func(v float64) float32 { return float32(bottom) - float32((v-lo)/(hi-lo))*float32(bottom-top) }
	for _, t := range ticks {
		yy := int(y(t))
		c.rect(left, yy, chartW-right, yy+1, inkGrid)
		c.text(short(t), left-8, yy+5, 13, inkMuted, 2, 0)
	}
	if unit != "" {
		c.text(unit, left-8, top-14, 13, inkMuted, 2, 0)
	}
	n := len(d.cats)
	slot := float32(chartW-left-right) / float32(n)
	every := int(math.Ceil(float64(n) * 70 / float64(chartW-left-right)))
	for j, cat := range d.cats {
		if j%max(every, 1) == 0 {
			c.text(cat, left+int(slot*(float32(j)+0.5)), bottom+22, 13, inkMuted, 1, int(slot)*max(every, 1)-4)
		}
	}
	switch chart {
	case "line", "area":
		for i := range d.series {
			var run [][2]float32
			flush := func() {
				if chart == "area" {
					c.area(run, y(math.Max(lo, 0)), palette[i%len(palette)])
				}
				c.polyline(run, 3, palette[i%len(palette)])
				run = nil
			}
			for j := range d.cats {
				v := d.vals[i][j]
				if math.IsNaN(v) {
					flush()
					continue
				}
				run = append(run, [2]float32{float32(left) + slot*(float32(j)+0.5), y(v)})
			}
			flush()
		}
	default:
		groups := len(d.series)
		if stacked {
			groups = 1
		}
		bw := slot * 0.8 / float32(groups)
		for j := range d.cats {
			pos, neg := 0.0, 0.0
			for i := range d.series {
				v := d.vals[i][j]
				if math.IsNaN(v) {
					continue
				}
				x0 := float32(left) + slot*float32(j) + slot*0.1
				var from, to float64
				if stacked {
					if v >= 0 {
						from, to = pos, pos+v
						pos = to
					} else {
						from, to = neg, neg+v
						neg = to
					}
				} else {
					x0 += bw * float32(i)
					from, to = 0, v
				}
				y0, y1 := y(from), y(to)
				if y0 > y1 {
					y0, y1 = y1, y0
				}
				c.rect(int(x0), int(y0), int(x0+bw)-1, int(math.Max(float64(y1), float64(y0)+1)), palette[i%len(palette)])
			}
		}
	}
	if len(d.series) > 1 {
		x := left
		for i, s := range d.series {
			c.rect(x, chartH-34, x+14, chartH-20, palette[i%len(palette)])
			c.text(s, x+20, chartH-22, 13, inkText, 0, 90)
			x += 112
			if x > chartW-100 {
				break
			}
		}
	}
}

// Funnel geometry: the names get a column of their own on the left, wide
// enough for a stage name in either language, and the figures one on the
// right, so neither is cut to fit under a narrow bar.
const (
	funnelNameW  = 340
	funnelValueW = 130
)

// drawFunnel draws one centred bar per category, as wide as its share of
// the largest, its name on the left and its figure on the right. It
// returns the names as drawn (cut with an ellipsis only past funnelNameW).
func drawFunnel(c *canvas, d chartData, unit string) []string {
	const left, right, top, bottom = 24, 24, 96, chartH - 24
	totals := make([]float64, len(d.cats))
	hasValue := make([]bool, len(d.cats))
	most := 0.0
	for j := range d.cats {
		for i := range d.series {
			if v := d.vals[i][j]; !math.IsNaN(v) {
				totals[j] += v
				hasValue[j] = true
			}
		}
		most = math.Max(most, totals[j])
	}
	n := len(d.cats)
	rowH := min((bottom-top)/max(n, 1), 72)
	size := math.Min(16, math.Max(10, float64(rowH)*0.45))
	// Long names make the text smaller, down to 11 px, before any is cut.
	widest := 0
	for _, cat := range d.cats {
		widest = max(widest, c.measure(cat, size))
	}
	if fit := funnelNameW - 12; widest > fit {
		size = math.Max(11, math.Floor(size*float64(fit)/float64(widest)))
	}
	barX0, barX1 := left+funnelNameW, chartW-right-funnelValueW
	mid := (barX0 + barX1) / 2
	drawn := make([]string, n)
	for j, cat := range d.cats {
		y0 := top + j*rowH
		base := y0 + rowH/2 + int(size*0.35)
		drawn[j] = c.text(cat, left, base, size, inkText, 0, funnelNameW-12)
		if most > 0 && totals[j] > 0 {
			half := int(float64(barX1-barX0) / 2 * totals[j] / most)
			c.rect(mid-max(half, 1), y0+2, mid+max(half, 1), y0+rowH-2, palette[j%len(palette)])
		}
		fig := "–"
		if hasValue[j] {
			fig = strings.TrimSpace(short(totals[j]) + " " + unit)
		}
		c.text(fig, chartW-right, base, size, inkMuted, 2, funnelValueW-8)
	}
	return drawn
}
