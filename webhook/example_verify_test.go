package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// verify is the receiver's code shown in docs/delivery.md, byte for byte
// from this comment to the closing brace (TestDocsShowTheVerifyExample
// keeps the two the same).

// verify checks a chatbot delivery against the config's signing secret
// and returns its raw body. Call it with time.Now() as now.
func verify(r *http.Request, secret string, now time.Time) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return nil, errors.New("bad or stale webhook-timestamp")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		version, b64, _ := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return body, nil // then skip it if webhook-id was seen before
		}
	}
	return nil, errors.New("bad webhook-signature")
}

// A receiver checks a delivery with verify; here the Standard Webhooks
// test vector, then the same request with its body changed by one byte,
// then the same request a day late.
func Example_verify() {
	const signingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	request := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		r.Header.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
		r.Header.Set("webhook-timestamp", "1614265330")
		r.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		return r
	}
	sent := time.Unix(1614265330, 0)

	body, err := verify(request(`{"test": 2432232314}`), signingSecret, sent)
	fmt.Printf("%s %v\n", body, err)
	_, err = verify(request(`{"test": 2432232315}`), signingSecret, sent)
	fmt.Println(err)
	_, err = verify(request(`{"test": 2432232314}`), signingSecret, sent.Add(24*time.Hour))
	fmt.Println(err)
	// Output:
	// {"test": 2432232314} <nil>
	// bad webhook-signature
	// bad or stale webhook-timestamp
}

// The documented receiver code accepts a real delivery of ours: a Sender
// POSTs a signed payload to a loopback receiver that runs verify.
func TestVerifyExampleAcceptsARealDelivery(t *testing.T) {
	cfg := &store.WebhookConfig{Name: "Receiver", TimeoutSeconds: 5, SigningSecret: secret.NewSigningSecret()}
	type outcome struct {
		body []byte
		err  error
	}
	got := make(chan outcome, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := verify(r, cfg.SigningSecret, time.Now())
		got <- outcome{body, err}
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	cfg.OutgoingURL = srv.URL + "/hook"
	policy, err := webhook.ParseAllowList("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	s := webhook.NewSender(policy, webhook.SenderOptions{UserAgent: "chatbot/test"})
	defer s.Close()
	payload := []byte(`{"user_id":"u1","conversation_id":"c1","message":"Your order ships today."}`)
	if res := s.Send(context.Background(), cfg, "msg_2Hq3nT0vXbq1oLx9u0G7bA", payload); !res.OK() {
		t.Fatalf("delivery: %+v", res)
	}
	if o := <-got; o.err != nil || string(o.body) != string(payload) {
		t.Fatalf("verify = %q, %v; want the payload as sent", o.body, o.err)
	}
	// Signed with another config's secret: refused.
	other := *cfg
	other.SigningSecret = secret.NewSigningSecret()
	if res := s.Send(context.Background(), &other, "msg_2Hq3nT0vXbq1oLx9u0G7bA", payload); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("delivery with another secret: %+v, want 401", res)
	}
	if o := <-got; o.err == nil || o.err.Error() != "bad webhook-signature" {
		t.Fatalf("verify with another secret = %v", o.err)
	}
}

// docs/delivery.md shows verify exactly as it is here.
func TestDocsShowTheVerifyExample(t *testing.T) {
	src, err := os.ReadFile("example_verify_test.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/delivery.md")
	if err != nil {
		t.Fatal(err)
	}
	fn := verifyFunc(t, string(src))
	if !strings.Contains(string(doc), "```go\n") || !strings.Contains(string(doc), fn) {
		t.Fatalf("docs/delivery.md does not show verify as example_verify_test.go has it:\n%s", fn)
	}
}

// verifyFunc cuts from verify's doc comment to its closing brace.
func verifyFunc(t *testing.T, src string) string {
	const start = "// verify checks a chatbot delivery"
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	j := strings.Index(src[i:], "\n}\n")
	if j < 0 {
		t.Fatal("verify has no closing brace")
	}
	return src[i : i+j+3]
}
