// Package ollamatest runs a real Ollama server for end-to-end tests, with
// tiny random-weight models generated on the fly: no weights are committed
// or downloaded. The models produce noise, quickly; they exist to exercise
// the whole path (HTTP, streaming, embeddings, failures), not to be right.
package ollamatest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
)

// GGUF v3, as read by llama.cpp and Ollama: a header, key-value metadata,
// tensor descriptions, then the tensor data, each tensor aligned to 32
// bytes. Only what the two tiny models need is implemented.

const (
	ggufMagic     = 0x46554747 // "GGUF", little-endian
	ggufVersion   = 3
	ggufAlignment = 32

	// metadata value types
	tUint32  = 4
	tInt32   = 5
	tFloat32 = 6
	tBool    = 7
	tString  = 8
	tArray   = 9

	ggmlF32 = 0 // tensor type
)

type kv struct {
	key string
	val any // uint32, int32, float32, bool, string, []string, []int32
}

type tensor struct {
	name string
	dims []uint64 // ggml order: dims[0] is the row length
	data []float32
}

// writeGGUF writes the metadata and tensors (all float32) to w.
func writeGGUF(w io.Writer, kvs []kv, tensors []tensor) error {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	le := binary.LittleEndian
	var err error
	put := func(v any) {
		if err == nil {
			err = binary.Write(bw, le, v)
		}
	}
	str := func(s string) {
		put(uint64(len(s)))
		if err == nil {
			_, err = bw.WriteString(s)
		}
	}
	put(uint32(ggufMagic))
	put(uint32(ggufVersion))
	put(uint64(len(tensors)))
	put(uint64(len(kvs)))
	for _, m := range kvs {
		str(m.key)
		switch v := m.val.(type) {
		case uint32:
			put(uint32(tUint32))
			put(v)
		case int32:
			put(uint32(tInt32))
			put(v)
		case float32:
			put(uint32(tFloat32))
			put(v)
		case bool:
			put(uint32(tBool))
			put(v)
		case string:
			put(uint32(tString))
			str(v)
		case []string:
			put(uint32(tArray))
			put(uint32(tString))
			put(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []int32:
			put(uint32(tArray))
			put(uint32(tInt32))
			put(uint64(len(v)))
			put(v)
		default:
			return fmt.Errorf("gguf key %s: unsupported value type %T", m.key, m.val)
		}
	}
	var offset uint64
	for _, t := range tensors {
		n := uint64(1)
		for _, d := range t.dims {
			n *= d
		}
		if n != uint64(len(t.data)) {
			return fmt.Errorf("gguf tensor %s: dims %v hold %d values, data has %d", t.name, t.dims, n, len(t.data))
		}
		str(t.name)
		put(uint32(len(t.dims)))
		put(t.dims)
		put(uint32(ggmlF32))
		put(offset)
		offset = align(offset + 4*n)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return writeData(w, cw.n, tensors)
}

func align(n uint64) uint64 { return (n + ggufAlignment - 1) / ggufAlignment * ggufAlignment }

// countingWriter counts the header's bytes, to pad it to the alignment.
type countingWriter struct {
	w io.Writer
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

func writeData(w io.Writer, header uint64, tensors []tensor) error {
	bw := bufio.NewWriter(w)
	pad := func(n uint64) error {
		_, err := bw.Write(make([]byte, align(n)-n))
		return err
	}
	if err := pad(header); err != nil {
		return err
	}
	for _, t := range tensors {
		if err := binary.Write(bw, binary.LittleEndian, t.data); err != nil {
			return err
		}
		if err := pad(4 * uint64(len(t.data))); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// byteTokens are the 256 byte-level tokens of the GPT-2 tokenizer: each
// byte is written as a printable rune (bytes_to_unicode in GPT-2), so a
// tokenizer with no merges encodes any text one byte per token.
func byteTokens() []string {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := '¡'; b <= '¬'; b++ {
		bs = append(bs, int(b))
	}
	for b := '®'; b <= 'ÿ'; b++ {
		bs = append(bs, int(b))
	}
	in := map[int]bool{}
	for _, b := range bs {
		in[b] = true
	}
	toks := make([]string, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if in[b] {
			toks[b] = string(rune(b))
		} else {
			toks[b] = string(rune(256 + n))
			n++
		}
	}
	return toks
}

// vocab is the byte tokens plus begin/end-of-text control tokens.
func vocab() (tokens []string, types []int32, bos, eos uint32) {
	tokens = append(byteTokens(), "<|begin_of_text|>", "<|end_of_text|>")
	types = make([]int32, len(tokens))
	for i := range types {
		types[i] = 1 // normal
	}
	types[256], types[257] = 3, 3 // control
	return tokens, types, 256, 257
}

type weights struct{ r *rand.Rand }

func (w weights) random(dims ...uint64) []float32 {
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	out := make([]float32, n)
	scale := float32(1 / math.Sqrt(float64(dims[0])))
	for i := range out {
		out[i] = (w.r.Float32()*2 - 1) * scale
	}
	return out
}

func fill(v float32, n uint64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Chat model: llama architecture, 2 layers, embedding 64, 4 heads,
// feed-forward 128, context 512.
const (
	chatEmbd  = 64
	chatFF    = 128
	chatHeads = 4
	chatLayer = 2
	chatCtx   = 512
)

// WriteChatModel writes the tiny llama chat model to path (about 450 KB).
func WriteChatModel(path string, seed uint64) error {
	tokens, types, bos, eos := vocab()
	nv := uint64(len(tokens))
	w := weights{rand.New(rand.NewPCG(seed, 1))}
	kvs := []kv{
		{"general.architecture", "llama"},
		{"general.name", "tiny-random-llama"},
		{"general.file_type", uint32(0)}, // all F32
		{"llama.context_length", uint32(chatCtx)},
		{"llama.embedding_length", uint32(chatEmbd)},
		{"llama.block_count", uint32(chatLayer)},
		{"llama.feed_forward_length", uint32(chatFF)},
		{"llama.attention.head_count", uint32(chatHeads)},
		{"llama.attention.head_count_kv", uint32(chatHeads)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.rope.dimension_count", uint32(chatEmbd / chatHeads)},
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", []string{}},
		{"tokenizer.ggml.bos_token_id", bos},
		{"tokenizer.ggml.eos_token_id", eos},
		{"tokenizer.ggml.add_bos_token", false},
	}
	ts := []tensor{
		{"token_embd.weight", []uint64{chatEmbd, nv}, w.random(chatEmbd, nv)},
		{"output_norm.weight", []uint64{chatEmbd}, fill(1, chatEmbd)},
		{"output.weight", []uint64{chatEmbd, nv}, w.random(chatEmbd, nv)},
	}
	for i := range chatLayer {
		b := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			tensor{b + "attn_norm.weight", []uint64{chatEmbd}, fill(1, chatEmbd)},
			tensor{b + "attn_q.weight", []uint64{chatEmbd, chatEmbd}, w.random(chatEmbd, chatEmbd)},
			tensor{b + "attn_k.weight", []uint64{chatEmbd, chatEmbd}, w.random(chatEmbd, chatEmbd)},
			tensor{b + "attn_v.weight", []uint64{chatEmbd, chatEmbd}, w.random(chatEmbd, chatEmbd)},
			tensor{b + "attn_output.weight", []uint64{chatEmbd, chatEmbd}, w.random(chatEmbd, chatEmbd)},
			tensor{b + "ffn_norm.weight", []uint64{chatEmbd}, fill(1, chatEmbd)},
			tensor{b + "ffn_gate.weight", []uint64{chatEmbd, chatFF}, w.random(chatEmbd, chatFF)},
			tensor{b + "ffn_up.weight", []uint64{chatEmbd, chatFF}, w.random(chatEmbd, chatFF)},
			tensor{b + "ffn_down.weight", []uint64{chatFF, chatEmbd}, w.random(chatFF, chatEmbd)},
		)
	}
	return writeFile(path, kvs, ts)
}

// Embedding model: bert architecture, 2 layers, embedding 64, 4 heads,
// mean pooling, context 256, the same byte-level tokenizer.
const (
	embEmbd  = 64
	embFF    = 128
	embHeads = 4
	embLayer = 2
	embCtx   = 256
)

// WriteEmbedModel writes the tiny bert embedding model to path.
func WriteEmbedModel(path string, seed uint64) error {
	tokens, types, bos, eos := vocab()
	nv := uint64(len(tokens))
	w := weights{rand.New(rand.NewPCG(seed, 2))}
	kvs := []kv{
		{"general.architecture", "bert"},
		{"general.name", "tiny-random-bert"},
		{"general.file_type", uint32(0)},
		{"bert.context_length", uint32(embCtx)},
		{"bert.embedding_length", uint32(embEmbd)},
		{"bert.block_count", uint32(embLayer)},
		{"bert.feed_forward_length", uint32(embFF)},
		{"bert.attention.head_count", uint32(embHeads)},
		{"bert.attention.layer_norm_epsilon", float32(1e-12)},
		{"bert.attention.causal", false},
		{"bert.pooling_type", uint32(1)}, // mean
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.token_type_count", uint32(2)},
		{"tokenizer.ggml.merges", []string{}},
		{"tokenizer.ggml.bos_token_id", bos},
		{"tokenizer.ggml.eos_token_id", eos},
		{"tokenizer.ggml.add_bos_token", false},
		{"tokenizer.ggml.add_eos_token", false},
	}
	ts := []tensor{
		{"token_embd.weight", []uint64{embEmbd, nv}, w.random(embEmbd, nv)},
		{"token_types.weight", []uint64{embEmbd, 2}, w.random(embEmbd, 2)},
		{"position_embd.weight", []uint64{embEmbd, embCtx}, w.random(embEmbd, embCtx)},
		{"token_embd_norm.weight", []uint64{embEmbd}, fill(1, embEmbd)},
		{"token_embd_norm.bias", []uint64{embEmbd}, fill(0, embEmbd)},
	}
	for i := range embLayer {
		b := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			tensor{b + "attn_q.weight", []uint64{embEmbd, embEmbd}, w.random(embEmbd, embEmbd)},
			tensor{b + "attn_q.bias", []uint64{embEmbd}, fill(0, embEmbd)},
			tensor{b + "attn_k.weight", []uint64{embEmbd, embEmbd}, w.random(embEmbd, embEmbd)},
			tensor{b + "attn_k.bias", []uint64{embEmbd}, fill(0, embEmbd)},
			tensor{b + "attn_v.weight", []uint64{embEmbd, embEmbd}, w.random(embEmbd, embEmbd)},
			tensor{b + "attn_v.bias", []uint64{embEmbd}, fill(0, embEmbd)},
			tensor{b + "attn_output.weight", []uint64{embEmbd, embEmbd}, w.random(embEmbd, embEmbd)},
			tensor{b + "attn_output.bias", []uint64{embEmbd}, fill(0, embEmbd)},
			tensor{b + "attn_output_norm.weight", []uint64{embEmbd}, fill(1, embEmbd)},
			tensor{b + "attn_output_norm.bias", []uint64{embEmbd}, fill(0, embEmbd)},
			tensor{b + "ffn_up.weight", []uint64{embEmbd, embFF}, w.random(embEmbd, embFF)},
			tensor{b + "ffn_up.bias", []uint64{embFF}, fill(0, embFF)},
			tensor{b + "ffn_down.weight", []uint64{embFF, embEmbd}, w.random(embFF, embEmbd)},
			tensor{b + "ffn_down.bias", []uint64{embEmbd}, fill(0, embEmbd)},
			tensor{b + "layer_output_norm.weight", []uint64{embEmbd}, fill(1, embEmbd)},
			tensor{b + "layer_output_norm.bias", []uint64{embEmbd}, fill(0, embEmbd)},
		)
	}
	return writeFile(path, kvs, ts)
}

func writeFile(path string, kvs []kv, ts []tensor) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeGGUF(f, kvs, ts); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
