package geo

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sync"
)

// The data is DB-IP's IP to Country Lite (CC BY 4.0), as published on npm by
// ip-location-db; internal/gen says why that source and how to update it.
// The tarball's integrity is pinned so the file is the data NOTICE names.
//
//go:generate go run ./internal/gen -package @ip-location-db/dbip-country@2.3.2026060120 -integrity sha512-WpBx8o5zluatlYg6eX6lauO0NQUopfPcPulGmQ1lZCJimr5LKTX2VUitl6kuRPvbQ4HYvjw+qsWpFyglVKr5SA== -o dbip-country-lite.bin.gz

//go:embed dbip-country-lite.bin.gz
var embedded []byte

// embeddedTable decodes on first use, not at init: programs and tests that
// never resolve an address do not pay the few tens of milliseconds and
// megabytes it takes.
var embeddedTable = sync.OnceValue(func() *Table {
	t, err := parseGzip(embedded)
	if err != nil {
		// The file is generated and checked by the tests; a binary that
		// carries a corrupt one was built wrong.
		panic("geo: embedded table: " + err.Error())
	}
	return t
})

// Embedded returns the table compiled into the binary. The first call
// decodes it; later calls return the same *Table.
func Embedded() *Table { return embeddedTable() }

func parseGzip(b []byte) (*Table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	return ParseTable(raw)
}
