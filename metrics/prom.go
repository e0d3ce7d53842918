package metrics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// PromWriter builds Prometheus text: a family's HELP and TYPE once, then
// its samples, with label values escaped.
type PromWriter struct {
	b strings.Builder
}

// Family writes the HELP and TYPE lines of a metric family.
func (w *PromWriter) Family(name, typ, help string) {
	fmt.Fprintf(&w.b, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// Sample writes one sample; labels are name, value pairs.
func (w *PromWriter) Sample(name string, v float64, labels ...string) {
	w.b.WriteString(name)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			fmt.Fprintf(&w.b, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	w.b.WriteString(formatFloat(v))
	w.b.WriteByte('\n')
}

// Gauge writes a one-sample gauge family.
func (w *PromWriter) Gauge(name, help string, v float64) {
	w.Family(name, "gauge", help)
	w.Sample(name, v)
}

// Counter writes a one-sample counter family.
func (w *PromWriter) Counter(name, help string, v float64) {
	w.Family(name, "counter", help)
	w.Sample(name, v)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
