package admin

import (
	"net/http"
	"time"
)

// setCookie sets the session cookie (value "" clears it). It is Secure
// when configured, over TLS, or when a trusted proxy says the client used
// HTTPS.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{
		Name: CookieName, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: h.opts.Secure || r.TLS != nil || h.forwardedHTTPS(r),
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = max(int(expires.Sub(h.now())/time.Second), 1)
	}
	http.SetCookie(w, c)
}
