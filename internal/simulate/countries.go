package simulate

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// countriesCSV is the distribution of CyberTipline reports by country, with
// its source and year in its header.
//
//go:embed countries.csv
var countriesCSV []byte

// CountryTable is a distribution of reports by country.
type CountryTable struct {
	Countries []string
	weights   []float64 // share of each country, summing to 1
	cum       []float64 // cumulative shares, for drawing
	calling   map[string]string
}

// Countries returns the embedded table (countries.csv).
func Countries() *CountryTable {
	t, err := ParseCountries(countriesCSV)
	if err != nil {
		panic(err) // the package's own file; a test reads it
	}
	return t
}

// ParseCountries reads a table of "country,calling_code,reports" lines;
// lines starting with # and the header line are skipped.
func ParseCountries(b []byte) (*CountryTable, error) {
	t := &CountryTable{calling: map[string]string{}}
	var total float64
	var counts []float64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "country,") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 || len(f[0]) != 2 {
			return nil, fmt.Errorf("countries line %d: want country,calling_code,reports", n)
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("countries line %d: reports %q is not a positive number", n, f[2])
		}
		if slices.Contains(t.Countries, f[0]) {
			return nil, fmt.Errorf("countries line %d: %s twice", n, f[0])
		}
		t.Countries = append(t.Countries, f[0])
		t.calling[f[0]] = f[1]
		counts = append(counts, v)
		total += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.Countries) == 0 {
		return nil, fmt.Errorf("countries: no country")
	}
	var c float64
	for _, v := range counts {
		t.weights = append(t.weights, v/total)
		c += v / total
		t.cum = append(t.cum, c)
	}
	t.cum[len(t.cum)-1] = 1
	return t, nil
}

// Share returns country's share of the reports, from 0 to 1.
func (t *CountryTable) Share(country string) float64 {
	if i := slices.Index(t.Countries, country); i >= 0 {
		return t.weights[i]
	}
	return 0
}

// CallingCode returns country's calling code without "+", or "".
func (t *CountryTable) CallingCode(country string) string { return t.calling[country] }

// Draw returns a country with the table's probabilities.
func (t *CountryTable) Draw(r *rand.Rand) string {
	x := r.Float64()
	i, _ := slices.BinarySearch(t.cum, x)
	if i >= len(t.Countries) {
		i = len(t.Countries) - 1
	}
	return t.Countries[i]
}
