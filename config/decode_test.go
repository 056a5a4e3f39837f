package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	known := []string{"addr", "address", "business_name", "password_hash", "smpp", "toll_free", "tls"}
	tests := []struct {
		key, want string
	}{
		{"smtp", "smpp"},
		{"adress", "address"},
		{"addres", "address"},
		{"businessName", "business_name"},
		{"Business-Name", "business_name"},
		{"tollfree", "toll_free"},
		{"password", "password_hash"},
		{"addrs", "addr"},
		{"colour", ""},
		{"x", ""},
		{"ssl", ""},
	}
	for _, tt := range tests {
		got := suggest(tt.key, known)
		want := ""
		if tt.want != "" {
			want = `; did you mean "` + tt.want + `"?`
		}
		if got != want {
			t.Errorf("suggest(%q) = %q, want %q", tt.key, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"smtp", "smpp", 1},
		{"kitten", "sitting", 3}, {"adress", "address", 1}, {"same", "same", 0},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParentPath(t *testing.T) {
	tests := map[string]string{
		"accounts[0].toll_free[1].number": "accounts[0].toll_free[1]",
		"accounts[0].toll_free[1]":        "accounts[0].toll_free",
		"accounts[0]":                     "accounts",
		"accounts":                        "",
		"":                                "",
	}
	for in, want := range tests {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGreetingDeviceRejected(t *testing.T) {
	// A FIFO would block a reader forever; it must be rejected unopened.
	dir := t.TempDir()
	if _, err := ReadGreeting(dir); err == nil || !strings.Contains(err.Error(), "regular file") {
		t.Errorf("directory as greeting: got %v, want a regular-file error", err)
	}
	_, err := parse([]byte(`
accounts:
  - id: a
    business_name: A
    toll_free:
      - {number: "+18005550101", greeting: "`+dir+`", voicemail: {enabled: true}}
    api_tokens: [{name: t, hash: $2a$10$sEgKhmjOKtBZbs1zBs5dSOSztdP7UHk56cqlIBB950QsK3RRuCQq.}]
    delivery: {type: webhook, url: "https://a.example/in"}
`), "g.yaml", lookupTestEnv)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("got %v, want a regular-file error", err)
	}
}

// FuzzParse feeds arbitrary documents to the parser. It must never panic,
// must return either a Config or an ErrorList, and every error must have a
// message.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/cases/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("accounts: [{id: a, toll_free: [{number: +18005550100}]}]"))
	f.Add([]byte("{a: *b}"))
	f.Add([]byte("- - - -"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, "fuzz.yaml", lookupTestEnv)
		if err == nil {
			if c == nil {
				t.Fatal("nil Config without an error")
			}
			if verr := c.Validate(); verr != nil {
				t.Fatalf("parsed Config fails Validate: %v", verr)
			}
			return
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %v", err)
		}
		for _, e := range list {
			if e.Message == "" {
				t.Fatalf("empty error message in %v", err)
			}
		}
	})
}
