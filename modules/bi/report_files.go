package bi

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/sheet"
)

// widgetNumbers is one widget of a delivered report: its name, metric and
// numbers, or why it has none.
type widgetNumbers struct {
	Name    string
	Metric  string // "Customers / 客户数"
	Chart   string
	Result  *measures.Result
	Problem string
	PNG     []byte
	// Names are the names of the result's dimension values (nameWidgets).
	Names dimNames
}

// numbersXLSX writes every widget's numbers to one sheet with the project's
// streaming XLSX writer: a row per group, the widget and metric first.
func numbersXLSX(ws []widgetNumbers) ([]byte, error) {
	var buf bytes.Buffer
	x := sheet.NewXLSX(&buf, "Report 报表")
	if err := x.WriteRow([]string{"Widget 组件", "Metric 指标", "Dimension 1 维度1", "Group 1 分组1", "Dimension 2 维度2", "Group 2 分组2",
		"Value 数值", "Previous 上期", "Unit 单位", "From 起", "To 止"}); err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.Result == nil {
			if err := x.WriteRow([]string{w.Name, w.Metric, "", "", "", "", "", "", "", "", w.Problem}); err != nil {
				return nil, err
			}
			continue
		}
		r := w.Result
		unit := unitOf(r)
		if unit == "" {
			unit = string(r.Unit)
		}
		for _, row := range r.Rows {
			cells := []string{w.Name, w.Metric, "", "", "", ""}
			for i := 0; i < 2 && i < len(r.Dimensions) && i < len(row.Keys); i++ {
				cells[2+2*i], cells[3+2*i] = r.Dimensions[i], w.Names.of(r.Dimensions[i], row.Keys[i])
			}
			cells = append(cells, str(row.Value), str(row.Previous), unit, r.From, r.To)
			if err := x.WriteRow(cells); err != nil {
				return nil, err
			}
		}
	}
	if err := x.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// dashboardPDF lays the widgets' pictures out on landscape A4 pages, four a
// page, under the dashboard's name, with the CJK font embedded (subset).
func (m *Module) dashboardPDF(title, subtitle string, ws []widgetNumbers, asOf time.Time) ([]byte, error) {
	f, err := m.fonts.load(m.d.FontPath)
	if err != nil {
		return nil, err
	}
	p := fpdf.New("L", "mm", "A4", "")
	p.SetCreationDate(asOf)
	p.SetModificationDate(asOf)
	p.SetTitle(title, true)
	p.SetCreator("Clientele", true)
	p.SetAutoPageBreak(false, 0)
	p.AddUTF8FontFromBytes("cjk", "", f.ttf)
	const cellW, cellH = 135.0, 135.0 * chartH / chartW
	header := func(n int) {
		p.AddPage()
		p.SetFont("cjk", "", 16)
		p.SetTextColor(0x1f, 0x29, 0x37)
		p.Text(10, 12, title)
		p.SetFont("cjk", "", 9)
		p.SetTextColor(0x6b, 0x72, 0x80)
		p.Text(10, 18, subtitle)
		p.Text(260, 205, fmt.Sprintf("%d", n))
	}
	i := 0
	for _, w := range ws {
		if i%4 == 0 {
			header(i/4 + 1)
		}
		x, y := 10+float64(i%2)*(cellW+7), 24+float64((i%4)/2)*(cellH+8)
		if len(w.PNG) > 0 {
			name := fmt.Sprintf("w%d", i)
			p.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(w.PNG))
			p.ImageOptions(name, x, y, cellW, cellH, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		} else {
			p.SetFont("cjk", "", 12)
			p.SetTextColor(0x1f, 0x29, 0x37)
			p.Text(x+4, y+10, w.Name)
			p.SetFont("cjk", "", 9)
			p.SetTextColor(0x6b, 0x72, 0x80)
			p.Text(x+4, y+18, w.Problem)
		}
		i++
	}
	if i == 0 {
		header(1)
		p.SetFont("cjk", "", 12)
		p.Text(10, 32, "This dashboard has no widgets. 此仪表板没有组件。")
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, fmt.Errorf("bi: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// checkPNG decodes a picture to be sure it is one.
func checkPNG(b []byte) error {
	_, err := png.Decode(bytes.NewReader(b))
	return err
}

// fileName makes a name safe for an attachment: no path separators or
// control characters, at most 80 runes.
func fileName(s, ext string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80])
	}
	if s == "" {
		s = "report"
	}
	return s + ext
}
