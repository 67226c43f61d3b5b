package sqlstore

import (
	"testing"
	"testing/fstest"
)

func TestParseMigrations(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("CREATE TABLE x (y integer)")}
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		want  int // versions; -1 for an error
	}{
		{"one", fstest.MapFS{"0001_init.sql": file}, 1},
		{"two", fstest.MapFS{"0001_init.sql": file, "0002_more.sql": file, "README.md": file}, 2},
		{"gap", fstest.MapFS{"0001_init.sql": file, "0003_more.sql": file}, -1},
		{"twice", fstest.MapFS{"0001_init.sql": file, "0001_again.sql": file}, -1},
		{"not first", fstest.MapFS{"0002_init.sql": file}, -1},
		{"no number", fstest.MapFS{"0001_init.sql": file, "more.sql": file}, -1},
		{"none", fstest.MapFS{}, -1},
	} {
		ms, err := parseMigrations(c.files)
		switch {
		case c.want < 0 && err == nil:
			t.Errorf("%s: parsed %d migrations, want an error", c.name, len(ms))
		case c.want >= 0 && (err != nil || len(ms) != c.want):
			t.Errorf("%s: %d migrations, %v; want %d", c.name, len(ms), err, c.want)
		}
	}
	ms, _ := parseMigrations(fstest.MapFS{"0001_init.sql": file})
	if ms[0].version != 1 || ms[0].name != "0001_init" || ms[0].sql != string(file.Data) {
		t.Errorf("parsed %+v", ms[0])
	}
}
