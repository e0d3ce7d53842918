package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
)

// The Standard Webhooks known-answer vector (BAD_INPUTS.md).
const (
	katSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	katID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	katTS     = "1614265330"
	katBody   = `{"test": 2432232314}`
	katSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func katHeader(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	return h
}

func TestVerifyIncomingKnownAnswer(t *testing.T) {
	now := time.Unix(1614265330, 0)
	cases := []struct {
		name      string
		id, ts    string
		sig, body string
		now       time.Time
		code      apperr.Code // "" = valid
	}{
		{"vector", katID, katTS, katSig, katBody, now, ""},
		{"unknown versions plus one valid v1", katID, katTS, "v2,abc v1a,xyz " + katSig, katBody, now, ""},
		{"re-serialised JSON", katID, katTS, katSig, `{"test":2432232314}`, now, apperr.Unauthorized},
		{"one byte changed", katID, katTS, katSig, `{"test": 2432232315}`, now, apperr.Unauthorized},
		{"empty v1", katID, katTS, "v1,", katBody, now, apperr.Unauthorized},
		{"id with a dot", "msg.x", katTS, katSig, katBody, now, apperr.Unauthorized},
		{"5 min + 1 s old", katID, katTS, katSig, katBody, now.Add(5*time.Minute + time.Second), apperr.Unauthorized},
		{"5 min + 1 s ahead", katID, katTS, katSig, katBody, now.Add(-5*time.Minute - time.Second), apperr.Unauthorized},
		{"exactly 5 min old", katID, katTS, katSig, katBody, now.Add(5 * time.Minute), ""},
		{"non-numeric timestamp", katID, "soon", katSig, katBody, now, apperr.Invalid},
		{"float timestamp", katID, "1614265330.5", katSig, katBody, now, apperr.Invalid},
		{"negative timestamp", katID, "-1614265330", katSig, katBody, now, apperr.Invalid},
		{"plus-signed timestamp", katID, "+1614265330", katSig, katBody, now, apperr.Invalid},
		{"timestamp over int64", katID, "99999999999999999999", katSig, katBody, now, apperr.Invalid},
		{"huge int64 timestamp", katID, strconv.FormatInt(1<<62, 10), katSig, katBody, now, apperr.Unauthorized},
		{"missing signature", katID, katTS, "", katBody, now, apperr.Unauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := verifyIncoming(katSecret, katHeader(c.id, c.ts, c.sig), []byte(c.body), c.now)
			if c.code == "" {
				if err != nil {
					t.Fatalf("valid signature refused: %v", err)
				}
				return
			}
			if got := apperr.CodeOf(err); got != c.code {
				t.Fatalf("code %s (%v), want %s", got, err, c.code)
			}
		})
	}
}

func TestIncomingSecretValidation(t *testing.T) {
	cases := []struct {
		secret string
		ok     bool
	}{
		{katSecret, true}, // exactly 24 bytes of key
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), false},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false}, // no prefix
		{"whsec_not base64!", false},
		{"", true}, // turns the check off
	}
	for _, c := range cases {
		err := apply(newStoreConfig(), ConfigInput{IncomingSecret: ptr(c.secret)})
		if (err == nil) != c.ok {
			t.Errorf("incoming_secret %q: err %v, want ok=%v", c.secret, err, c.ok)
		}
		if err != nil {
			if e, _ := apperr.As(err); e.Field != "incoming_secret" {
				t.Errorf("field %q", e.Field)
			}
		}
	}
}

// sign computes a Standard Webhooks signature the way a platform does.
func sign(secret, id string, ts int64, body string) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestIncomingSignedOverHTTP(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	in := cfgInput("Signed", "freshchat", "")
	in.IncomingSecret = ptr(katSecret)
	token := h.addConfig(t, in)
	now := h.clock.Now().Unix()
	good := sign(katSecret, "msg_1", now, validIncoming)
	var m map[string]any
	_ = json.Unmarshal([]byte(validIncoming), &m)
	reserialised, _ := json.Marshal(m)
	cases := []struct {
		name   string
		body   string
		hdr    []string
		status int
	}{
		{"valid", validIncoming, []string{"webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(now, 10), "webhook-signature", good}, 200},
		{"unsigned", validIncoming, nil, 401},
		{"re-serialised body", string(reserialised), []string{"webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(now, 10), "webhook-signature", good}, 401},
		{"stale", validIncoming, []string{"webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(now-301, 10),
			"webhook-signature", sign(katSecret, "msg_1", now-301, validIncoming)}, 401},
		{"bad timestamp", validIncoming, []string{"webhook-id", "msg_1", "webhook-timestamp", "x", "webhook-signature", good}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if res := h.post(t, token, c.body, c.hdr...); res.status != c.status {
				t.Fatalf("status %d, want %d: %v", res.status, c.status, res.body)
			}
		})
	}
	if v, _ := h.configs.Get(1); v.IncomingSecret != "****LaSw" {
		t.Fatalf("incoming_secret not masked: %q", v.IncomingSecret)
	}
}

func TestIncomingIPAllowlist(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{TrustedProxies: mustPrefixes("127.0.0.1/32")})
	in := cfgInput("Office", "freshchat", "")
	in.AllowedIPs = &[]string{"10.0.0.0/8", "2001:db8::1"}
	token := h.addConfig(t, in)
	cases := []struct {
		name   string
		xff    []string
		status int
	}{
		{"loopback peer itself", nil, 403},
		{"allowed client behind our proxy", []string{"X-Forwarded-For", "10.1.2.3"}, 200},
		{"spoofed left-most entry", []string{"X-Forwarded-For", "10.1.2.3, 203.0.113.5"}, 403},
		{"allowed IPv6", []string{"X-Forwarded-For", "2001:db8::1"}, 200},
		{"garbage entry", []string{"X-Forwarded-For", "not-an-ip"}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if res := h.post(t, token, validIncoming, c.xff...); res.status != c.status {
				t.Fatalf("status %d, want %d: %v", res.status, c.status, res.body)
			}
		})
	}
	// Without trusting the proxy, X-Forwarded-For is ignored.
	h2 := newInHarness(t, "", IncomingOptions{})
	token2 := h2.addConfig(t, in)
	if res := h2.post(t, token2, validIncoming, "X-Forwarded-For", "10.1.2.3"); res.status != 403 {
		t.Fatalf("untrusted X-Forwarded-For believed: %d", res.status)
	}
	if err := apply(newStoreConfig(), ConfigInput{AllowedIPs: &[]string{"10.0.0.0/33"}}); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("bad CIDR accepted: %v", err)
	}
}

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	clock := &testClock{t: time.Unix(0, 0)}
	l := newRateLimiter(20, 1000, clock.Now)
	for i := range 50000 {
		l.take("198.51." + strconv.Itoa(i/256%256) + "." + strconv.Itoa(i%256) + "/" + strconv.Itoa(i))
		if n := l.size(); n > 1000 {
			t.Fatalf("%d keys after %d inserts, limit 1000", n, i+1)
		}
	}
	// A key that is limited stays limited while there is room.
	l2 := newRateLimiter(2, 10, clock.Now)
	l2.take("a")
	l2.take("a")
	if ok, wait := l2.take("a"); ok || wait != 30 {
		t.Fatalf("third take: ok=%v wait=%d, want refused with 30 s", ok, wait)
	}
	clock.Add(30 * time.Second)
	if ok, _ := l2.take("a"); !ok {
		t.Fatal("not refilled after 30 s")
	}
}

func TestBadSignaturesDoNotSpendPlatformBudget(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{RatePerMinute: 2})
	in := cfgInput("Signed", "freshchat", "")
	in.IncomingSecret = ptr(katSecret)
	token := h.addConfig(t, in)
	for range 5 {
		if res := h.post(t, token, validIncoming, "webhook-id", "msg_1", "webhook-timestamp", "1", "webhook-signature", "v1,AAAA"); res.status != 401 {
			t.Fatalf("forged: %d", res.status)
		}
	}
	now := h.clock.Now().Unix()
	for i := range 2 {
		id := "msg_ok" + strconv.Itoa(i)
		res := h.post(t, token, validIncoming, "webhook-id", id, "webhook-timestamp", strconv.FormatInt(now, 10),
			"webhook-signature", sign(katSecret, id, now, validIncoming))
		if res.status != 200 {
			t.Fatalf("signed request %d after forged ones: %d %v", i+1, res.status, res.body)
		}
	}
}
