package web_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/guardian-network/guardian/web"
)

// usedKeys are the message keys the pages use: {{$.T "key"}} (or .T) in
// the templates, and msg("key") in the code.
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	used := make(map[string][]string) // key → where
	scan := func(glob string, re *regexp.Regexp) {
		names, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = append(used[m[1]], filepath.Base(name))
			}
		}
	}
	tmplRE := regexp.MustCompile(`\.T "([^"]+)"`)
	scan("templates/*.html", tmplRE)
	scan("templates/*/*.html", tmplRE)
	scan("*.go", regexp.MustCompile(`\bmsg\("([^"]+)"\)`))
	return used
}

// TestCatalogues fails when a page uses a key missing in any language, or
// a catalogue holds a key no page uses.
func TestCatalogues(t *testing.T) {
	keys, err := web.CatalogKeys()
	if err != nil {
		t.Fatal(err)
	}
	used := usedKeys(t)
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	var langs []string
	for l := range keys {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	if want := []string{"de", "en", "es", "fr", "it", "nl", "pt"}; !slices.Equal(langs, want) {
		t.Errorf("languages %v, want %v", langs, want)
	}
	for _, l := range langs {
		have := make(map[string]bool)
		for _, k := range keys[l] {
			if have[k] {
				t.Errorf("%s: key %q twice", l, k)
			}
			have[k] = true
		}
		var missing, unused []string
		for k, where := range used {
			if !have[k] {
				missing = append(missing, k+" (in "+strings.Join(where, ", ")+")")
			}
		}
		for k := range have {
			if _, ok := used[k]; !ok {
				unused = append(unused, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(unused)
		if len(missing) > 0 {
			t.Errorf("%s: %d keys used by the pages are missing:\n  %s", l, len(missing), strings.Join(missing, "\n  "))
		}
		if len(unused) > 0 {
			t.Errorf("%s: %d keys no page uses:\n  %s", l, len(unused), strings.Join(unused, "\n  "))
		}
	}
}
