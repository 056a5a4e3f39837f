package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, path string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET "+Prefix, Handler())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesFilesWithHeaders(t *testing.T) {
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/console/", "text/html", `<script src="console.js" defer></script>`},
		{"/console/console.js", "text/javascript", "'use strict';"},
		{"/console/console.css", "text/css", ":root"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := serve(t, tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.contentType)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if b := body(t, resp); !strings.Contains(b, tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
		})
	}
}

func TestHandlerUnknownFileNotFound(t *testing.T) {
	resp := serve(t, "/console/missing.js")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q on a 404, want DENY", got)
	}
}

func TestPolicyForbidsInlineScript(t *testing.T) {
	for _, directive := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, directive) {
			t.Errorf("policy lacks %q", directive)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-inline") || strings.Contains(ContentSecurityPolicy, "unsafe-eval") {
		t.Errorf("policy allows inline or eval: %s", ContentSecurityPolicy)
	}
}

// TestPageHasNoInlineCode guards the policy from the other side: an
// inline script or event handler in the page would be blocked by it.
func TestPageHasNoInlineCode(t *testing.T) {
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, script := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(page), -1) {
		if !strings.Contains(script, "src=") {
			t.Errorf("inline script tag %s", script)
		}
	}
	if m := regexp.MustCompile(`\son[a-z]+=`).FindString(string(page)); m != "" {
		t.Errorf("inline event handler attribute %q", m)
	}
	if strings.Contains(string(page), "style=") {
		t.Error("inline style attribute, which the policy blocks")
	}
}

// TestScriptWritesNoHTML checks that the script never parses strings as
// HTML, so API data cannot become markup.
func TestScriptWritesNoHTML(t *testing.T) {
	script, err := assets.ReadFile("assets/console.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(script), sink) {
			t.Errorf("console.js uses %s", sink)
		}
	}
	if strings.Contains(string(script), "localStorage") {
		t.Error("console.js uses localStorage; the token belongs in sessionStorage only")
	}
}
