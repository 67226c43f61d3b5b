package hashlist_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hashlist"
)

const (
	md5A  = "0123456789abcdef0123456789abcdef"
	sha1A = "0123456789abcdef0123456789abcdef01234567"
	sha2A = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestParseCSV(t *testing.T) {
	in := "\ufefftype,hash,category\r\n" +
		"# a comment\n\n" +
		"MD5," + strings.ToUpper(md5A) + ",1\n" +
		"sha-1, " + sha1A + " , cat b\n" +
		"sha256," + sha2A + ",\n" +
		`pdq,"` + sha2A + `","a, quoted"` + "\n"
	got, err := hashlist.ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []guardian.HashListEntry{
		{Type: guardian.HashMD5, Hash: md5A, Category: "1"},
		{Type: guardian.HashSHA1, Hash: sha1A, Category: "cat b"},
		{Type: guardian.HashSHA256, Hash: sha2A, Category: ""},
		{Type: guardian.HashPDQ, Hash: sha2A, Category: "a, quoted"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestParseCSVErrors(t *testing.T) {
	in := "md5," + md5A + ",1\n" +
		"md6," + md5A + ",1\n" + // line 2
		"md5," + md5A[1:] + ",1\n" + // line 3
		"sha1," + strings.Repeat("g", 40) + ",1\n" + // line 4
		"md5," + md5A + "\n" + // line 5
		`md5,"` + md5A + ",1\n" + // line 6
		"md5," + md5A + "," + strings.Repeat("x", hashlist.MaxLineLength) + "\n" // line 7
	entries, err := hashlist.ParseCSV(strings.NewReader(in))
	if entries != nil {
		t.Errorf("a refused list gave %d entries", len(entries))
	}
	var pe *hashlist.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *ParseError", err)
	}
	var lines []int
	for _, le := range pe.Errors {
		lines = append(lines, le.Line)
	}
	if diff := cmp.Diff([]int{2, 3, 4, 5, 6, 7}, lines); diff != "" {
		t.Errorf("error lines (-want +got):\n%s\n%v", diff, err)
	}
}

func TestParseCSVEmpty(t *testing.T) {
	for _, in := range []string{"", "type,hash,category\n", "# nothing\n\n"} {
		if _, err := hashlist.ParseCSV(strings.NewReader(in)); !errors.Is(err, hashlist.ErrEmpty) {
			t.Errorf("ParseCSV(%q) = %v, want ErrEmpty", in, err)
		}
	}
}

func TestParseVICS(t *testing.T) {
	in := `{
  "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
  "value": [
    {
      "CaseID": "00000000-0000-0000-0000-000000000000",
      "Media": [
        {
          "MediaID": 1,
          "Category": 1,
          "MD5": "` + strings.ToUpper(md5A) + `",
          "SHA1": "` + sha1A + `"
        },
        {"MediaID": 2, "Category": "2", "MD5": "` + md5A + `", "Comments": ["a", {"Media": 3}]},
        {"MediaID": 3, "SHA1": "` + sha1A + `"}
      ]
    }
  ]
}`
	got, err := hashlist.ParseVICS(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []guardian.HashListEntry{
		{Type: guardian.HashMD5, Hash: md5A, Category: "1"},
		{Type: guardian.HashSHA1, Hash: sha1A, Category: "1"},
		{Type: guardian.HashMD5, Hash: md5A, Category: "2"},
		{Type: guardian.HashSHA1, Hash: sha1A, Category: ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestParseVICSErrors(t *testing.T) {
	in := `{"value": [{"Media": [
{"MD5": "` + md5A + `", "Category": 1},
{"MD5": "xyz", "Category": 1},
{"Category": 1},
{"MD5": "` + md5A + `", "Category": 1.5},

  {"MD5": "` + md5A + `", "Category": [1]}
]}]}`
	entries, err := hashlist.ParseVICS(strings.NewReader(in))
	if entries != nil {
		t.Errorf("a refused list gave %d entries", len(entries))
	}
	var pe *hashlist.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *ParseError", err)
	}
	var lines []int
	for _, le := range pe.Errors {
		lines = append(lines, le.Line)
	}
	if diff := cmp.Diff([]int{3, 4, 5, 7}, lines); diff != "" {
		t.Errorf("error lines (-want +got):\n%s\n%v", diff, err)
	}
}

func TestParseVICSNotJSON(t *testing.T) {
	for _, in := range []string{"", "{", `{"Media": [}`, `{"value": []} x`, "type,hash,category\n"} {
		_, err := hashlist.ParseVICS(strings.NewReader(in))
		var pe *hashlist.ParseError
		if err == nil || errors.As(err, &pe) {
			t.Errorf("ParseVICS(%q) = %v, want a syntax error", in, err)
		}
	}
	if _, err := hashlist.ParseVICS(strings.NewReader(`{"value": []}`)); !errors.Is(err, hashlist.ErrEmpty) {
		t.Errorf("no media: err = %v, want ErrEmpty", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1", "2", -1}, {"2026.9", "2026.10", -1}, {"v10", "v9", 1}, {"1.0", "1.0", 0},
		{"007", "7", 0}, {"1.0", "1.0.1", -1}, {"20261206T080000Z", "20261206T080001Z", -1}, {"b", "a", 1},
	} {
		if got := guardian.CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// checkEntries fails unless every entry is a valid lower-case hash.
func checkEntries(t *testing.T, entries []guardian.HashListEntry) {
	for _, e := range entries {
		if n := e.Type.HexLen(); n == 0 || len(e.Hash) != n || strings.Trim(e.Hash, "0123456789abcdef") != "" {
			t.Fatalf("bad entry %+v", e)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("type,hash,category\nmd5," + md5A + ",1\n")
	f.Add(`pdq,"` + sha2A + `","a, b"` + "\r\nsha1," + sha1A + ",x\n")
	f.Add("md5,zz,1\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := hashlist.ParseCSV(strings.NewReader(in))
		if err != nil && entries != nil {
			t.Fatal("entries with an error")
		}
		checkEntries(t, entries)
		if err != nil {
			return
		}
		// Written back as plain CSV, the entries read the same.
		var b strings.Builder
		for _, e := range entries {
			if strings.ContainsAny(e.Category, "\",\n\r") || strings.HasPrefix(e.Category, "#") {
				return
			}
			b.WriteString(string(e.Type) + "," + e.Hash + "," + e.Category + "\n")
		}
		again, err := hashlist.ParseCSV(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-reading %q: %v", b.String(), err)
		}
		if diff := cmp.Diff(entries, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzParseVICS(f *testing.F) {
	f.Add(`{"value": [{"Media": [{"MD5": "` + md5A + `", "SHA1": "` + sha1A + `", "Category": 1}]}]}`)
	f.Add(`{"Media": [{"MD5": "x"}, 1, [], {"Category": "a"}]}`)
	f.Add(`[{"Media": {"Media": []}}]`)
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := hashlist.ParseVICS(strings.NewReader(in))
		if err != nil && entries != nil {
			t.Fatal("entries with an error")
		}
		checkEntries(t, entries)
	})
}
