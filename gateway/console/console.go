// Package console serves optgate's web console: one HTML page with its
// style sheet and script, embedded in the binary, that the daemon serves
// under /console/ on its HTTP listener. The page calls the /v1 JSON API
// with the bearer token the user enters, which it keeps in the tab's
// sessionStorage and sends only in the Authorization header. It holds no
// data of its own, so the API's authentication and authorization apply
// to everything it shows.
//
// The files are plain HTML, CSS and JavaScript with no framework, no
// build step and nothing loaded from other hosts. The page puts API data
// into the document as text nodes only.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

// ContentSecurityPolicy is the Content-Security-Policy (CSP level 3) of
// every console response. Scripts, styles, images and API calls may come
// from the daemon itself only, and inline script and style are blocked.
// Audio may come from the blob: URLs the page makes of downloaded
// voicemails, and no page may frame the console.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; media-src blob:; form-action 'none'; " +
	"frame-ancestors 'none'; base-uri 'none'"

//go:embed assets
var assets embed.FS

// Handler returns the handler of the console's files. Mount it on
// Prefix, where /console/ serves the page.
func Handler() http.Handler {
	files, err := fs.Sub(assets, "assets")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "assets" is valid.
		panic("console: embedded assets missing: " + err.Error())
	}
	server := http.StripPrefix(Prefix[:len(Prefix)-1], http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change only with the binary; revalidate on each load
		// so an upgrade shows at once.
		h.Set("Cache-Control", "no-cache")
		server.ServeHTTP(w, r)
	})
}
