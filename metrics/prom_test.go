package metrics

import "testing"

func TestPromWriterEscapes(t *testing.T) {
	var w PromWriter
	w.Family("x_total", "counter", "Help with \\ and\nnewline.")
	w.Sample("x_total", 3, "path", "a\"b\\c\nd")
	w.Sample("x_total", 0.25)
	want := "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n" +
		"x_total{path=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.25\n"
	if got := w.b.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
