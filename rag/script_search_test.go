package rag

import (
	"context"
	"testing"

	"github.com/chatbot/chatbot/embed"
)

// scriptCase is a small knowledge base in one script, a question spelled
// otherwise than its answer, and questions it does not address.
type scriptCase struct {
	name     string
	lang     embed.Lang
	docs     []BEIRDoc
	question string
	want     string
	offTopic []string
}

// Arabic spelled another way (harakat, tatweel, hamza on alef, alef maqsura
// and teh marbuta written otherwise) and Chinese/Japanese without spaces
// (character bigrams) find their passage through the whole index, above the
// calibrated threshold; questions the documents do not address stay below.
func TestOtherScriptsSearchAndCalibrate(t *testing.T) {
	for _, c := range []scriptCase{
		{
			name: "arabic", lang: embed.Arabic,
			docs: []BEIRDoc{
				{ID: "returns", Text: "يمكنك إرجاع المنتج خلال ثلاثين يوما من الاستلام واسترداد أموالك كاملة."},
				{ID: "shipping", Text: "نشحن الطلبات إلى جميع المدن خلال خمسة أيام عمل مع شركة الشحن."},
				{ID: "hospital", Text: "يتم تسليم الأجهزة الطبية إلى المستشفى مباشرة بعد الطلب."},
				{ID: "payment", Text: "نقبل الدفع بالبطاقة الائتمانية والتحويل البنكي عند الطلب."},
			},
			// "ارجاع" without hamza, tatweel in "المنـــتج", harakat on "كيف".
			question: "كَيْفَ يمكن ارجاع المنـــتج؟",
			want:     "returns",
			offTopic: []string{"what is the capital of France", "write me a poem", "من هو رئيس البرازيل الحالي"},
		},
		{
			name: "cjk", lang: embed.CJK,
			docs: []BEIRDoc{
				{ID: "shipping", Text: "送料無料は五千円以上のご注文に適用されます。"},
				{ID: "returns", Text: "商品到着後三十日以内であれば返品を受け付けます。"},
				{ID: "charger", Text: "充電器は別売りです。純正品をご利用ください。"},
			},
			question: "返品はできますか",
			want:     "returns",
			offTopic: []string{"what is the capital of France", "write me a poem", "富士山の高さは"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			ix := openIndex(t, openStore(t, t.TempDir()), embed.NewBuiltin(), Options{})
			putTexts(t, ix, c.docs...)
			if got := ix.docLangs(); len(got) != 1 || got[0] != c.lang {
				t.Fatalf("index languages %v, want [%s]", got, c.lang)
			}
			if err := ix.Calibrate(ctx); err != nil {
				t.Fatal(err)
			}
			thr := ix.Calibration().Threshold
			ps, err := ix.Search(ctx, c.question, 3)
			if err != nil || len(ps) == 0 || ps[0].Source != c.want || ps[0].LexicalScore <= 0 {
				t.Fatalf("%q: %+v, %v; want %s first with a lexical score, above %.3f", c.question, ps, err, c.want, thr)
			}
			for _, q := range c.offTopic {
				if ps, err := ix.Search(ctx, q, 3); err != nil || len(ps) != 0 {
					t.Errorf("off-topic %q: %+v, %v; want nothing above %.3f", q, ps, err, thr)
				}
			}
		})
	}
}
