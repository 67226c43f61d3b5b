package cybertip

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// The examples leave out much of the schema. These tests generate, from
// the schema itself, documents that contain every element and attribute,
// and check that nothing is lost on the way through the Go types.

// generator writes documents that use every declaration of the schema:
// optional elements once, repeatable ones twice, every attribute, and each
// alternative of a choice in turn.
type generator struct {
	b      bytes.Buffer
	choice int // rotates through the alternatives of choices
}

func (g *generator) element(e *element) {
	g.b.WriteString("<" + e.name)
	if e.complex != nil {
		for _, a := range e.complex.attrs {
			g.b.WriteString(" " + a.name + `="` + attrEscaper.Replace(sampleValue(a.typ, a.name)) + `"`)
		}
	}
	g.b.WriteString(">")
	switch {
	case e.fixed != "":
		// empty: the fixed value applies
	case e.simple != nil:
		g.b.WriteString(textEscaper.Replace(sampleValue(e.simple, e.name)))
	case e.complex.text != nil:
		g.b.WriteString(textEscaper.Replace(sampleValue(e.complex.text, e.name)))
	case e.complex.model != nil:
		g.group(e.complex.model)
	}
	g.b.WriteString("</" + e.name + ">")
}

func (g *generator) group(m *group) {
	if m.kind == choice {
		g.element(m.items[g.choice%len(m.items)].elem)
		g.choice++
		return
	}
	for _, p := range m.items {
		n := 1
		if p.max != 1 {
			n = 2
		}
		for range n {
			if p.elem != nil {
				g.element(p.elem)
			} else {
				g.group(p.choice)
			}
		}
	}
}

// sampleValue returns a valid, non-empty value of t that survives decoding
// unchanged in canonical form.
func sampleValue(t *simpleType, name string) string {
	switch {
	case t == tFileRelevance:
		return "Reported" // the cross-field rule forbids the other with a classification
	case t.enum != nil:
		return t.enum[len(t.enum)-1]
	case t == tCountryCallingCode:
		return "+41"
	case t == tExtension:
		return "0123"
	}
	switch t.base {
	case xsToken:
		return "token " + name
	case xsBoolean:
		return "false"
	case xsInt:
		if t.minInc != nil {
			return "42"
		}
		return "-7"
	case xsLong:
		return "9007199254740993"
	case xsDouble:
		return "-12.25"
	case xsDateTime:
		return "2024-05-06T14:30:00.123-04:00"
	case xsDate:
		return "1990-01-01Z"
	}
	return "v:" + name + " <&>\"'"
}

func generate(root *element, choiceStart int) []byte {
	g := &generator{choice: choiceStart}
	g.element(root)
	return g.b.Bytes()
}

func TestEveryDeclarationDecodes(t *testing.T) {
	var docs [][]byte
	for i := range 8 {
		docs = append(docs, generate(eReport, i))
	}
	docs = append(docs, generate(eFileDetails, 0), generate(eFileDetails, 1))

	for _, doc := range docs {
		root := eReport
		if bytes.HasPrefix(doc, []byte("<fileDetails")) {
			root = eFileDetails
		}
		canon, err := validateBytes(t, doc, root)
		if err != nil {
			t.Fatalf("generated document invalid: %v\n%s", err, doc)
		}
		var marshalled []byte
		if root == eReport {
			d, err := ParseReport(doc)
			if err != nil {
				t.Fatal(err)
			}
			assertReportRoundTrip(t, d)
			assertCanonical(t, doc, root, d)
			marshalled, err = xml.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
		} else {
			d, err := ParseFileDetails(doc)
			if err != nil {
				t.Fatal(err)
			}
			assertFileDetailsRoundTrip(t, d)
			assertCanonical(t, doc, root, d)
			marshalled, err = xml.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
		}
		again, err := validateBytes(t, marshalled, root)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(canon, again) {
			t.Errorf("a declaration is lost in the Go types:\nsent    %s\ndecoded %s", canon, again)
		}
	}

	// The same documents must be valid for libxml2.
	for i, ok := range MustXmllintValidate(t, docs) {
		if !ok {
			t.Errorf("libxml2 rejects generated document %d:\n%s", i, docs[i])
		}
	}

	// Every alternative of every choice was generated.
	all := string(bytes.Join(docs, nil))
	for _, name := range []string{"<webPageIncident", "<emailIncident>", "<newsgroupIncident>", "<chatImIncident>",
		"<onlineGamingIncident>", "<cellPhoneIncident>", "<nonInternetIncident>", "<peer2peerIncident>",
		"<potentialMeme>false", "<fileAnnotations>", "<batchedReport reason"} {
		if !strings.Contains(all, name) {
			t.Errorf("no generated document contains %s", name)
		}
	}
}

// TestTags checks the naming rule of document.go: each field's JSON name is
// its element or attribute name, and every field has both tags.
func TestTags(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var check func(reflect.Type)
	check = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != "github.com/guardian-network/guardian" {
			return
		}
		seen[typ] = true
		if typ == reflect.TypeFor[guardian.DateTime]() || typ == reflect.TypeFor[guardian.Date]() {
			return
		}
		for f := range typ.Fields() {
			x, j := f.Tag.Get("xml"), f.Tag.Get("json")
			xname, xopts, _ := strings.Cut(x, ",")
			jname, _, _ := strings.Cut(j, ",")
			switch {
			case f.Name == "XMLName":
				if j != "-" {
					t.Errorf("%s.XMLName: json tag %q", typ.Name(), j)
				}
			case xopts == "chardata":
				if jname != "value" {
					t.Errorf("%s.%s: text has json name %q, want \"value\"", typ.Name(), f.Name, jname)
				}
			case xname == "" || jname != xname:
				t.Errorf("%s.%s: xml %q, json %q", typ.Name(), f.Name, x, j)
			}
			check(f.Type)
		}
	}
	check(reflect.TypeFor[guardian.ReportDocument]())
	check(reflect.TypeFor[guardian.FileDetails]())
	if len(seen) < 30 {
		t.Errorf("only %d types checked", len(seen))
	}
}
