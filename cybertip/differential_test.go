package cybertip

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// The differential test is the proof behind "one schema": libxml2, given
// the served XSD, and the validator must agree on every document of a
// corpus generated from the reference examples by dropping, duplicating,
// swapping and renaming elements and by changing text and attribute values.

// xnode is a bare DOM node, enough to mutate documents.
type xnode struct {
	name     string // prefix:local as written
	attrs    []xml.Attr
	text     string // of a leaf
	children []*xnode
}

func (n *xnode) clone() *xnode {
	c := &xnode{name: n.name, attrs: append([]xml.Attr(nil), n.attrs...), text: n.text}
	for _, k := range n.children {
		c.children = append(c.children, k.clone())
	}
	return c
}

// MustParseTree reads a document into xnodes, dropping whitespace between
// elements.
func MustParseTree(tb testing.TB, data []byte) *xnode {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: rawName(t.Name), attrs: t.Copy().Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			if len(n.children) > 0 {
				n.text = ""
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	return root
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (n *xnode) write(b *bytes.Buffer) {
	b.WriteString("<" + n.name)
	for _, a := range n.attrs {
		b.WriteString(" " + rawName(a.Name) + `="` + attrEscaper.Replace(a.Value) + `"`)
	}
	b.WriteString(">")
	if len(n.children) == 0 {
		b.WriteString(textEscaper.Replace(n.text))
	}
	for _, c := range n.children {
		c.write(b)
	}
	b.WriteString("</" + n.name + ">")
}

func (n *xnode) bytes() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	n.write(&b)
	return b.Bytes()
}

// walk calls f with the path (child indexes) of every node below the root.
func (n *xnode) walk(path []int, f func(path []int, n, parent *xnode)) {
	for i, c := range n.children {
		p := append(append([]int(nil), path...), i)
		f(p, c, n)
		c.walk(p, f)
	}
}

// at returns the node at path in a tree.
func (n *xnode) at(path []int) (node, parent *xnode) {
	node = n
	for _, i := range path {
		parent, node = node, node.children[i]
	}
	return node, parent
}

// mutate returns a copy of root with f applied to the node at path.
func mutate(root *xnode, path []int, f func(n, parent *xnode, i int)) []byte {
	c := root.clone()
	n, parent := c.at(path)
	f(n, parent, path[len(path)-1])
	return c.bytes()
}

// leafValues are the texts tried in every leaf: the boundaries of the
// built-in types (XML Schema and libxml2 quirks), enumeration values, and
// lengths around each documented limit.
func leafValues(orig string) []string {
	vs := []string{
		"", " ", "x", orig + "x", " " + orig + " ", "\n" + orig + "\n",
		"true", "false", "1", "0", " true ", "TRUE",
		"-1", "+5", "007", "150", "151", "65535", "65536", "2147483647", "2147483648",
		"9223372036854775807", "9223372036854775808", "-9223372036854775809", "1.5", "5.0",
		"1e3", ".5", "5.", "INF", "-INF", "NaN", "90", "90.0001", "-180", "-180.5", "1E400",
		"1990-01-01", "1990-02-29", "2000-02-29", "1990-01-01Z", "1990-01-01+02:00", "1990-1-01",
		"2024-05-06T14:30:00", "2024-05-06T24:00:00Z", "2024-05-06T24:00:01Z",
		"2024-05-06T23:59:60Z", "2024-05-06T14:30:00.123456789123+14:00",
		"2024-05-06T14:30:00+14:01", "2024-05-06T14:30:00.Z", "-2024-05-06T14:30:00Z",
		"12024-05-06T14:30:00Z", "02024-05-06T14:30:00Z", "0000-05-06T14:30:00Z",
		"2024-05-06t14:30:00Z", "2024-05-06T14:30Z",
		"US", "us", "IL", "", "Mobile", "Reported", "Supplemental  Reported", "A1", "B3",
		"Login", "Child Sex Tourism",
	}
	for _, n := range []int{21, 51, 65, 101, 256, 257, 301, 2057, 2084, 3001} {
		vs = append(vs, strings.Repeat("é", n))
	}
	return vs
}

var attrValues = []string{
	"", "x", "true", "0", " true ", "Home", "Mobile", "Linked", "Other", "EXIF", "CA", "ca", "",
	"+1", "+1234", " +1", "1234567890", "12345678901", "2024-01-10T09:00:00Z", "2024-01-10",
	" 2024-01-10T09:00:00Z", "VIRAL_POTENTIAL_MEME", strings.Repeat("a", 64), strings.Repeat("a", 65),
}

var renames = []string{"bogus", "additionalInfo", "phone", "email", "address", "ipCaptureEvent", "potentialMeme", "url", "xs:url"}

// corpus generates the mutated documents of one example. Structural
// mutations apply to every element; value mutations once per element and
// parent name (elements of one name in parents of one name share their
// declaration, as the many ipCaptureEvents of the rich example do), which
// keeps the corpus to a size that runs in seconds.
func corpus(tb testing.TB, data []byte) [][]byte {
	root := MustParseTree(tb, data)
	docs := [][]byte{root.bytes(), data}
	valuesDone := map[string]bool{}
	root.walk(nil, func(path []int, n, parent *xnode) {
		key := parent.name + "/" + n.name
		values := !valuesDone[key]
		valuesDone[key] = true
		docs = append(docs,
			mutate(root, path, func(n, p *xnode, i int) { p.children = append(p.children[:i:i], p.children[i+1:]...) }),
			mutate(root, path, func(n, p *xnode, i int) {
				p.children = append(p.children[:i+1:i+1], append([]*xnode{n.clone()}, p.children[i+1:]...)...)
			}),
			mutate(root, path, func(n, p *xnode, i int) {
				n.attrs = append(n.attrs, xml.Attr{Name: xml.Name{Local: "bogus"}, Value: "1"})
			}),
			mutate(root, path, func(n, p *xnode, i int) {
				n.attrs = append(n.attrs, xml.Attr{Name: xml.Name{Local: "type"}, Value: "Home"})
			}),
		)
		if i := path[len(path)-1]; i+1 < len(parent.children) {
			docs = append(docs, mutate(root, path, func(n, p *xnode, i int) {
				p.children[i], p.children[i+1] = p.children[i+1], p.children[i]
			}))
		}
		for _, r := range renames {
			if r != n.name {
				docs = append(docs, mutate(root, path, func(n, p *xnode, i int) { n.name = r }))
			}
		}
		for i := range n.attrs {
			docs = append(docs, mutate(root, path, func(n, p *xnode, _ int) { n.attrs = append(n.attrs[:i:i], n.attrs[i+1:]...) }))
			if !values {
				continue
			}
			for _, v := range attrValues {
				docs = append(docs, mutate(root, path, func(n, p *xnode, _ int) { n.attrs[i].Value = v }))
			}
		}
		if len(n.children) > 0 {
			docs = append(docs,
				mutate(root, path, func(n, p *xnode, _ int) { n.children = nil; n.text = "x" }),
				mutate(root, path, func(n, p *xnode, _ int) { n.children = nil }),
			)
			return
		}
		docs = append(docs, mutate(root, path, func(n, p *xnode, _ int) {
			n.children = []*xnode{{name: "b", text: n.text}}
		}))
		if !values {
			return
		}
		for _, v := range leafValues(n.text) {
			docs = append(docs, mutate(root, path, func(n, p *xnode, _ int) { n.text = v }))
		}
	})
	return docs
}

func TestDifferential(t *testing.T) {
	MustXmllint(t)
	for _, tc := range []struct {
		file string
		root *element
	}{
		{"report-minimal.xml", eReport},
		{"report-rich.xml", eReport},
		{"filedetails.xml", eFileDetails},
	} {
		t.Run(tc.file, func(t *testing.T) {
			docs := corpus(t, MustReadTestdata(t, tc.file))
			lint := MustXmllintValidate(t, docs)
			var accepted, disagreements int
			for i, doc := range docs {
				_, err := validate(doc, tc.root)
				if code := errCode(t, err); code != "" && code != guardian.EMALFORMED && code != guardian.EVALIDATION {
					t.Fatalf("validate returned code %q", code)
				}
				if ours := err == nil; ours != lint[i] {
					disagreements++
					if disagreements <= 10 {
						t.Errorf("libxml2 valid=%v, Guardian: %v\n%s", lint[i], err, doc)
					}
					continue
				}
				if err == nil {
					accepted++
					// Decoding costs more than validating; -short
					// samples it.
					if !testing.Short() || accepted%10 == 0 {
						assertDecodes(t, doc, tc.root)
					}
				}
			}
			if disagreements > 0 {
				t.Errorf("%d of %d documents judged differently", disagreements, len(docs))
			}
			// A corpus that libxml2 all but rejects would prove little.
			if accepted < len(docs)/5 || accepted == len(docs) {
				t.Errorf("%d of %d documents valid: the corpus is lopsided", accepted, len(docs))
			}
			t.Logf("%d documents, %d valid", len(docs), accepted)
		})
	}
}

// assertDecodes checks that a document the schema accepts decodes, and
// round-trips through the Go types; the only further refusal allowed is
// the cross-field rule.
func assertDecodes(tb testing.TB, doc []byte, root *element) {
	tb.Helper()
	switch root {
	case eReport:
		d, err := ParseReport(doc)
		if err != nil {
			tb.Fatalf("schema-valid report refused: %v\n%s", err, doc)
		}
		assertReportRoundTrip(tb, d)
	case eFileDetails:
		d, err := ParseFileDetails(doc)
		if err != nil {
			if errCode(tb, err) != guardian.EVALIDATION || !strings.Contains(guardian.ErrorMessage(err), "fileRelevance") {
				tb.Fatalf("schema-valid file details refused: %v\n%s", err, doc)
			}
			return
		}
		assertFileDetailsRoundTrip(tb, d)
	}
}

// TestDifferential_KnownDeviations pins down where Guardian knowingly
// differs from libxml2 (package documentation, item 11), so that a change
// on either side is noticed.
func TestDifferential_KnownDeviations(t *testing.T) {
	MustXmllint(t)
	rich := MustReadTestdata(t, "report-rich.xml")
	min := MustReadTestdata(t, "report-minimal.xml")
	cases := []struct {
		name          string
		doc           []byte
		libxml2, ours bool
	}{
		{"double without exponent digits", MustEdit(t, rich, "<latitude>38.8977</latitude>", "<latitude>1e</latitude>"), true, false},
		{"xsi attribute below the root", MustEdit(t, min, "<reporter>", `<reporter xsi:noNamespaceSchemaLocation="x">`), true, false},
	}
	docs := make([][]byte, len(cases))
	for i, c := range cases {
		docs[i] = c.doc
	}
	lint := MustXmllintValidate(t, docs)
	for i, c := range cases {
		_, err := validate(c.doc, eReport)
		if lint[i] != c.libxml2 || (err == nil) != c.ours {
			t.Errorf("%s: libxml2 valid=%v (want %v), Guardian valid=%v (want %v)", c.name, lint[i], c.libxml2, err == nil, c.ours)
		}
	}
}

// TestDateTimeAgainstLibxml2 compares guardian.ParseDateTime and ParseDate
// with libxml2 on lexical edge cases, since the validator relies on them.
func TestDateTimeAgainstLibxml2(t *testing.T) {
	MustXmllint(t)
	dateTimes := []string{
		"2024-01-01T00:00:00", "2024-01-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T24:00:00.000Z",
		"2024-01-01T24:00:00.5Z", "2024-01-01T24:00:01Z", "2024-01-01T23:59:60Z", "0000-01-01T00:00:00Z",
		"0001-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "-0004-02-29T00:00:00Z", "-0001-02-29T00:00:00Z",
		"12024-01-01T00:00:00Z", "02024-01-01T00:00:00Z", "999-01-01T00:00:00Z", "2024-02-29T00:00:00Z",
		"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-00-10T00:00:00Z", "2024-13-10T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-01T00:00:00+14:00",
		"2024-01-01T00:00:00-14:00", "2024-01-01T00:00:00+14:01", "2024-01-01T00:00:00+13:59",
		"2024-01-01T00:00:00-00:00", "2024-01-01T00:00:00+00:60", "2024-01-01T00:00:00.", "2024-01-01T00:00:00.0",
		"2024-01-01T00:00:00.123456789123Z", "2024-1-01T00:00:00Z", "2024-01-01T0:00:00Z", "2024-01-01T00:00Z",
		"2024-01-01T00:00:00+1:00", "2024-01-01T00:00:00+0100", "2024-01-01t00:00:00Z", "2024-01-01T00:00:00z",
		"+2024-01-01T00:00:00Z", "--2024-01-01T00:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T25:00:00Z",
		"99999999999-01-01T00:00:00Z", "9223372036854775807-01-01T00:00:00Z", "9223372036854775808-01-01T00:00:00Z",
		"2024-01-01T00:00:00ZZ", "2024-01-01T00:00:00 Z", "", "2024-01-01",
	}
	dates := []string{
		"1990-01-01", "1990-01-01Z", "1990-01-01+02:00", "1990-01-01-14:00", "1990-01-01+14:30",
		"1990-02-30", "1990-01-01T00:00:00", "-0001-01-01", "0000-01-01", "10000-01-01", "1990-01-1", "",
	}
	var docs [][]byte
	for _, s := range dateTimes {
		docs = append(docs, []byte(`<peer2peerIncident><ipCaptureEvent><ipAddress>192.0.2.1</ipAddress><dateTime>`+s+`</dateTime></ipCaptureEvent></peer2peerIncident>`))
	}
	for _, s := range dates {
		docs = append(docs, []byte(`<victim><victimPerson><dateOfBirth>`+s+`</dateOfBirth></victimPerson></victim>`))
	}
	lint := MustXmllintValidate(t, docs)
	for i, s := range dateTimes {
		_, err := guardian.ParseDateTime(s)
		if (err == nil) != lint[i] {
			t.Errorf("xs:dateTime %q: libxml2 valid=%v, ParseDateTime err=%v", s, lint[i], err)
		}
	}
	for i, s := range dates {
		_, err := guardian.ParseDate(s)
		if (err == nil) != lint[len(dateTimes)+i] {
			t.Errorf("xs:date %q: libxml2 valid=%v, ParseDate err=%v", s, lint[len(dateTimes)+i], err)
		}
	}
}
