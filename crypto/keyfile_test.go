package crypto

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const katMasterKey = "GUARDIAN-MASTER-KEY-1 QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

func TestParseMasterKey(t *testing.T) {
	want := &MasterKey{key: seq(0x40)}
	for _, s := range []string{katMasterKey, katMasterKey + "\n"} {
		k, err := ParseMasterKey(s)
		if err != nil {
			t.Fatalf("ParseMasterKey(%q): %v", s, err)
		}
		if !k.Equal(want) {
			t.Fatalf("ParseMasterKey(%q) gave the wrong key", s)
		}
	}
	if got := encodeMasterKey(want); got != katMasterKey+"\n" {
		t.Fatalf("encodeMasterKey = %q, want %q", got, katMasterKey+"\n")
	}

	b64 := strings.TrimPrefix(katMasterKey, masterKeyPrefix)
	for _, tt := range []struct{ name, text string }{
		{"Empty", ""},
		{"NoKey", masterKeyPrefix},
		{"WrongPrefix", "AGE-SECRET-KEY-1 " + b64},
		{"WrongVersion", "GUARDIAN-MASTER-KEY-2 " + b64},
		{"Lowercase", strings.ToLower(masterKeyPrefix) + b64},
		{"TwoSpaces", masterKeyPrefix + " " + b64},
		{"CRLF", katMasterKey + "\r\n"},
		{"TwoNewlines", katMasterKey + "\n\n"},
		{"LineBreakInside", masterKeyPrefix + b64[:20] + "\n" + b64[20:]},
		{"NoPadding", strings.TrimSuffix(katMasterKey, "=")},
		{"NonZeroTrailingBits", strings.TrimSuffix(katMasterKey, "8=") + "9="},
		{"ShortKey", masterKeyPrefix + "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXg=="},
		{"LongKey", masterKeyPrefix + "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9g"},
		{"Hex", masterKeyPrefix + "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMasterKey(tt.text)
			if err == nil {
				t.Fatal("parsed")
			}
			if strings.Contains(err.Error(), b64[:10]) {
				t.Fatalf("error %q contains the key text", err)
			}
		})
	}
}

func TestLoadOrCreateMasterKey(t *testing.T) {
	t.Run("Create", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		k1, err := LoadOrCreateMasterKey(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode(), fs.FileMode(0o600); got != want {
			t.Errorf("mode = %v, want %v", got, want)
		}
		text, _ := os.ReadFile(path)
		if !regexp.MustCompile(`^GUARDIAN-MASTER-KEY-1 [A-Za-z0-9+/]{43}=\n$`).Match(text) {
			t.Errorf("file holds %d bytes not in the documented format", len(text))
		}
		MustOnlyFiles(t, filepath.Dir(path), "master.key")

		k2, err := LoadOrCreateMasterKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if !k1.Equal(k2) {
			t.Fatal("second start returned another key")
		}
		k3, err := LoadMasterKey(path)
		if err != nil || !k1.Equal(k3) {
			t.Fatalf("LoadMasterKey = %v, want the created key", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Processes starting at once must all end up with the key
		// that is in the file.
		path := filepath.Join(t.TempDir(), "master.key")
		keys := make([]*MasterKey, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				k, err := LoadOrCreateMasterKey(path)
				if err != nil {
					t.Error(err)
				}
				keys[i] = k
			})
		}
		wg.Wait()
		onDisk, err := LoadMasterKey(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if !k.Equal(onDisk) {
				t.Fatalf("process %d uses a key that is not the one stored", i)
			}
		}
		MustOnlyFiles(t, filepath.Dir(path), "master.key")
	})

	t.Run("Refuse", func(t *testing.T) {
		for _, tt := range []struct {
			name, text string
			mode       fs.FileMode
			want       string
		}{
			{"GroupReadable", katMasterKey, 0o640, "chmod 600"},
			{"WorldReadable", katMasterKey, 0o604, "chmod 600"},
			{"GroupWritable", katMasterKey, 0o620, "chmod 600"},
			{"ShortKey", masterKeyPrefix + "QEFC\n", 0o600, "malformed master key"},
			{"Garbage", strings.Repeat("x", 10000), 0o600, "malformed master key"},
			{"Empty", "", 0o600, "malformed master key"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "master.key")
				MustWriteFile(t, path, tt.text, tt.mode)
				_, err := LoadOrCreateMasterKey(path)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("LoadOrCreateMasterKey = %v, want an error containing %q", err, tt.want)
				}
				// A bad file must be left for the operator, never
				// replaced by a new key.
				if got, _ := os.ReadFile(path); string(got) != tt.text {
					t.Fatal("the refused file was changed")
				}
			})
		}
	})

	t.Run("Directory", func(t *testing.T) {
		path := t.TempDir()
		if _, err := LoadOrCreateMasterKey(path); err == nil {
			t.Fatal("loaded a directory")
		}
	})

	t.Run("MissingDirectory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nodir", "master.key")
		if _, err := LoadOrCreateMasterKey(path); err == nil {
			t.Fatal("created a key in a missing directory")
		}
	})

	t.Run("LoadMissing", func(t *testing.T) {
		_, err := LoadMasterKey(filepath.Join(t.TempDir(), "master.key"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("LoadMasterKey = %v, want fs.ErrNotExist", err)
		}
	})
}

func MustWriteFile(tb testing.TB, path, text string, mode fs.FileMode) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		tb.Fatal(err)
	}
	// WriteFile's mode is subject to the umask; the test needs it exact.
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
}

// MustOnlyFiles fails unless dir holds exactly the named entries.
func MustOnlyFiles(tb testing.TB, dir string, names ...string) {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		tb.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}
