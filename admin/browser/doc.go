// Package browser holds the end-to-end tests of the admin panel and the
// website widget: they build the chatbot binary, run `chatbot serve` on
// loopback (built-in embedder and answerer, so the answers do not depend on
// an Ollama on the machine) and drive Debian's Chromium headless through
// chromedp. They skip when no Chromium is installed (.ci/chromium.sh
// installs it), or fail when CHATBOT_REQUIRE_BROWSER=1, as CI should set.
//
// Screenshots go to $CHATBOT_SCREENSHOTS, which is kept (default: a
// temporary directory, removed after the test), named in the order taken:
// 01-login-wrong-token.png, 02-overview.png, ...; the -v output lists them.
package browser
