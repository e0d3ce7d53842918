package rag

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// BEIRDoc is one line of a BEIR corpus.jsonl.
type BEIRDoc struct {
	ID    string `json:"_id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// BEIRQuery is one line of a BEIR queries.jsonl.
type BEIRQuery struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

// Qrels maps query id -> document id -> graded relevance.
type Qrels map[string]map[string]int

// maxJSONLLine bounds one line of a JSONL file.
const maxJSONLLine = 16 << 20

// LoadCorpus reads a BEIR corpus.jsonl.
func LoadCorpus(path string) ([]BEIRDoc, error) {
	var out []BEIRDoc
	err := readJSONL(path, func(line int, b []byte) error {
		var d BEIRDoc
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if d.ID == "" {
			return fmt.Errorf("line %d: missing _id", line)
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// LoadQueries reads a BEIR queries.jsonl.
func LoadQueries(path string) ([]BEIRQuery, error) {
	var out []BEIRQuery
	err := readJSONL(path, func(line int, b []byte) error {
		var q BEIRQuery
		if err := json.Unmarshal(b, &q); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if q.ID == "" {
			return fmt.Errorf("line %d: missing _id", line)
		}
		out = append(out, q)
		return nil
	})
	return out, err
}

func readJSONL(path string, fn func(line int, b []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxJSONLLine)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if err := fn(n, b); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadQrels reads a BEIR qrels TSV (query-id, corpus-id, score), with or
// without its header row.
func LoadQrels(path string) (Qrels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseQrels(f)
}

// ParseQrels parses qrels TSV from r.
func ParseQrels(r io.Reader) (Qrels, error) {
	q := Qrels{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("qrels line %d: want query-id, corpus-id, score; got %d fields", n, len(f))
		}
		rel, err := strconv.Atoi(f[2])
		if err != nil {
			if n == 1 {
				continue // header
			}
			return nil, fmt.Errorf("qrels line %d: score %q is not an integer", n, f[2])
		}
		if q[f[0]] == nil {
			q[f[0]] = map[string]int{}
		}
		q[f[0]][f[1]] = rel
	}
	return q, sc.Err()
}

// NDCG is nDCG@k with gain 2^rel-1 and log2(rank+1) discount; the ideal
// ranking is over all judged documents of the query. 0 when nothing is
// relevant.
func NDCG(ranked []string, rels map[string]int, k int) float64 {
	var dcg float64
	for i, id := range ranked[:min(k, len(ranked))] {
		if r := rels[id]; r > 0 {
			dcg += (math.Pow(2, float64(r)) - 1) / math.Log2(float64(i)+2)
		}
	}
	var grades []int
	for _, r := range rels {
		if r > 0 {
			grades = append(grades, r)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(grades)))
	var idcg float64
	for i, r := range grades[:min(k, len(grades))] {
		idcg += (math.Pow(2, float64(r)) - 1) / math.Log2(float64(i)+2)
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// Recall is the share of relevant (score > 0) documents in the top k.
func Recall(ranked []string, rels map[string]int, k int) float64 {
	total := 0
	for _, r := range rels {
		if r > 0 {
			total++
		}
	}
	if total == 0 {
		return 0
	}
	hit := 0
	for _, id := range ranked[:min(k, len(ranked))] {
		if rels[id] > 0 {
			hit++
		}
	}
	return float64(hit) / float64(total)
}

// MRR is the reciprocal rank of the first relevant document in the top k.
func MRR(ranked []string, rels map[string]int, k int) float64 {
	for i, id := range ranked[:min(k, len(ranked))] {
		if rels[id] > 0 {
			return 1 / float64(i+1)
		}
	}
	return 0
}

// EvalResult holds mean metrics over the judged queries.
type EvalResult struct {
	Queries int     // judged queries evaluated
	NDCG10  float64 // mean nDCG@10
	Recall  float64 // mean recall@10
	MRR10   float64 // mean MRR@10
	// Rankings are the top-10 document ids per query id.
	Rankings map[string][]RankedDoc
}

// RankedDoc is one entry of a run.
type RankedDoc struct {
	ID    string
	Score float64
}

// IndexCorpus puts BEIR documents into the index: the document id is the
// path and the source, the title (when there is one) the heading.
func IndexCorpus(ctx context.Context, ix *Index, docs []BEIRDoc, progress func(done int)) error {
	for i, d := range docs {
		sec := Section{Paragraphs: []string{d.Text}}
		if strings.TrimSpace(d.Title) != "" {
			sec.Headings = []string{d.Title}
		}
		if strings.TrimSpace(d.Text) == "" && len(sec.Headings) == 0 {
			continue
		}
		_, err := ix.Put(ctx, DocInput{Path: d.ID, Source: d.ID, Content: []byte(d.Title + "\n" + d.Text),
			Parsed: Parsed{Title: d.Title, Sections: []Section{sec}}, Chunk: ChunkOptions{}})
		if err != nil {
			return fmt.Errorf("index document %s: %w", d.ID, err)
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return nil
}

// Evaluate runs every judged query through the index in the given mode
// (no threshold), ranks documents by their best chunk and averages the
// metrics at 10. Queries without judgements are skipped.
func Evaluate(ctx context.Context, ix *Index, queries []BEIRQuery, qrels Qrels, mode Mode) (EvalResult, error) {
	return evaluateWith(ctx, queries, qrels, func(ctx context.Context, q string) ([]Passage, error) {
		return ix.search(ctx, q, maxK, mode)
	})
}

// evaluateWith is Evaluate with the passages of a query from search.
func evaluateWith(ctx context.Context, queries []BEIRQuery, qrels Qrels, search func(ctx context.Context, q string) ([]Passage, error)) (EvalResult, error) {
	res := EvalResult{Rankings: map[string][]RankedDoc{}}
	for _, q := range queries {
		rels, ok := qrels[q.ID]
		if !ok {
			continue
		}
		passages, err := search(ctx, q.Text)
		if err != nil {
			return EvalResult{}, fmt.Errorf("query %s: %w", q.ID, err)
		}
		var run []RankedDoc
		seen := map[string]bool{}
		for _, p := range passages {
			id, _, _ := strings.Cut(p.Source, "#")
			if !seen[id] && len(run) < 10 {
				seen[id] = true
				run = append(run, RankedDoc{ID: id, Score: p.Score})
			}
		}
		ids := make([]string, len(run))
		for i, r := range run {
			ids[i] = r.ID
		}
		res.Rankings[q.ID] = run
		res.Queries++
		res.NDCG10 += NDCG(ids, rels, 10)
		res.Recall += Recall(ids, rels, 10)
		res.MRR10 += MRR(ids, rels, 10)
	}
	if res.Queries > 0 {
		n := float64(res.Queries)
		res.NDCG10, res.Recall, res.MRR10 = res.NDCG10/n, res.Recall/n, res.MRR10/n
	}
	return res, nil
}

// WriteRun writes rankings as TSV: query-id, corpus-id, rank, score.
func WriteRun(w io.Writer, rankings map[string][]RankedDoc) error {
	qids := make([]string, 0, len(rankings))
	for q := range rankings {
		qids = append(qids, q)
	}
	sort.Strings(qids)
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "query-id\tcorpus-id\trank\tscore")
	for _, q := range qids {
		for i, r := range rankings[q] {
			fmt.Fprintf(bw, "%s\t%s\t%d\t%.6f\n", q, r.ID, i+1, r.Score)
		}
	}
	return bw.Flush()
}
