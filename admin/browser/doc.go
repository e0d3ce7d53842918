// Package browser holds the end-to-end tests of the admin panel and the
// website widget: they build the chatbot binary, run `chatbot serve` on
// loopback and drive Debian's Chromium headless through chromedp. They skip
// when no Chromium is installed (.ci/chromium.sh installs it).
//
// Screenshots of each section go to $CHATBOT_SCREENSHOTS (default: a
// temporary directory); the test log lists their paths.
package browser
