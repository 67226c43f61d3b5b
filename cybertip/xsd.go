package cybertip

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// XSD returns the XML Schema served at /ispws/xsd. It is printed from the
// same schema the validator walks, once, and callers must not modify it.
//
// The schema has no target namespace, declares the same global elements as
// the NCMEC XSD, and adds the documented limits as facets, each annotated as
// such. libxml2 compiles it, so clients that validate locally (the PHP
// client does) accept what Guardian accepts.
func XSD() []byte { return xsdOnce() }

var xsdOnce = sync.OnceValue(func() []byte {
	w := &xsdWriter{}
	return w.schema()
})

// Escapers for the schema's own text; unlike xml.EscapeText they leave
// apostrophes readable.
var (
	xsdText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	xsdAttr = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
)

type xsdWriter struct {
	b       bytes.Buffer
	complex []*complexType // named types in order of first use
	simple  []*simpleType
	seen    map[any]bool
}

func (w *xsdWriter) schema() []byte {
	w.seen = map[any]bool{}
	for _, e := range globals {
		w.collectElement(e)
	}
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.b.WriteString(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">` + "\n")
	w.annotation(1, schemaDoc)
	for _, e := range globals {
		w.element(1, e, nil, true)
	}
	for _, c := range w.complex {
		w.complexType(1, c)
	}
	for _, s := range w.simple {
		w.simpleType(1, s)
	}
	w.b.WriteString("</xs:schema>\n")
	return w.b.Bytes()
}

const schemaDoc = `CyberTipline reporting schema (2025-11 vocabulary) as served by Guardian. ` +
	`Elements, order, cardinality, types, enumerations and patterns follow the NCMEC schema. ` +
	`Length and range facets are limits from the CyberTipline documentation (or, where marked, Guardian's own) ` +
	`that the NCMEC schema does not carry; Guardian answers 4100 (Validation failed) when one is exceeded ` +
	`and 4110 (Malformed XML submittal) for any other violation of this schema.`

// collectElement records the named types reachable from e, in order of
// first use, so that the XSD lists them in a stable, readable order.
func (w *xsdWriter) collectElement(e *element) {
	if e.simple != nil {
		w.collectSimple(e.simple)
		return
	}
	w.collectComplex(e.complex)
}

func (w *xsdWriter) collectComplex(c *complexType) {
	if c.name != "" {
		if w.seen[c] {
			return
		}
		w.seen[c] = true
		w.complex = append(w.complex, c)
	}
	for _, a := range c.attrs {
		w.collectSimple(a.typ)
	}
	if c.text != nil {
		w.collectSimple(c.text)
	}
	if c.model != nil {
		for _, p := range c.model.items {
			w.collectParticle(p)
		}
	}
}

func (w *xsdWriter) collectParticle(p *particle) {
	if p.elem != nil {
		w.collectElement(p.elem)
		return
	}
	for _, q := range p.choice.items {
		w.collectParticle(q)
	}
}

func (w *xsdWriter) collectSimple(s *simpleType) {
	if s.isBuiltin() || w.seen[s] {
		return
	}
	w.seen[s] = true
	w.simple = append(w.simple, s)
}

func (w *xsdWriter) indent(n int) {
	for range n {
		w.b.WriteString("  ")
	}
}

func (w *xsdWriter) annotation(depth int, doc string) {
	if doc == "" {
		return
	}
	w.indent(depth)
	w.b.WriteString("<xs:annotation><xs:documentation>")
	w.b.WriteString(xsdText.Replace(doc))
	w.b.WriteString("</xs:documentation></xs:annotation>\n")
}

// element prints a declaration; p is its particle (nil for a global
// declaration) and decl says whether this is where e is declared rather
// than referenced.
func (w *xsdWriter) element(depth int, e *element, p *particle, decl bool) {
	w.indent(depth)
	if e.global && !decl {
		fmt.Fprintf(&w.b, `<xs:element ref="%s"%s/>`+"\n", e.name, occurs(p))
		return
	}
	fmt.Fprintf(&w.b, `<xs:element name="%s"`, e.name)
	anonymous := e.complex != nil && e.complex.name == ""
	switch {
	case e.simple != nil:
		fmt.Fprintf(&w.b, ` type="%s"`, e.simple.name)
	case !anonymous:
		fmt.Fprintf(&w.b, ` type="%s"`, e.complex.name)
	}
	if e.fixed != "" {
		fmt.Fprintf(&w.b, ` fixed="%s"`, e.fixed)
	}
	w.b.WriteString(occurs(p))
	if !anonymous && e.doc == "" {
		w.b.WriteString("/>\n")
		return
	}
	w.b.WriteString(">\n")
	w.annotation(depth+1, e.doc)
	if anonymous {
		w.complexBody(depth+1, e.complex, "")
	}
	w.indent(depth)
	w.b.WriteString("</xs:element>\n")
}

func occurs(p *particle) string {
	if p == nil {
		return ""
	}
	var s string
	if p.min != 1 {
		s += ` minOccurs="` + strconv.Itoa(p.min) + `"`
	}
	switch {
	case p.max == unbounded:
		s += ` maxOccurs="unbounded"`
	case p.max != 1:
		s += ` maxOccurs="` + strconv.Itoa(p.max) + `"`
	}
	return s
}

func (w *xsdWriter) complexType(depth int, c *complexType) {
	w.complexBody(depth, c, c.name)
}

func (w *xsdWriter) complexBody(depth int, c *complexType, name string) {
	w.indent(depth)
	if name != "" {
		fmt.Fprintf(&w.b, `<xs:complexType name="%s">`+"\n", name)
		w.annotation(depth+1, c.doc)
	} else {
		w.b.WriteString("<xs:complexType>\n")
	}
	switch {
	case c.text != nil:
		w.indent(depth + 1)
		w.b.WriteString("<xs:simpleContent>\n")
		w.indent(depth + 2)
		fmt.Fprintf(&w.b, `<xs:extension base="%s">`+"\n", c.text.name)
		w.attributes(depth+3, c.attrs)
		w.indent(depth + 2)
		w.b.WriteString("</xs:extension>\n")
		w.indent(depth + 1)
		w.b.WriteString("</xs:simpleContent>\n")
	case c.model != nil:
		w.group(depth+1, c.model, nil)
		w.attributes(depth+1, c.attrs)
	default:
		w.attributes(depth+1, c.attrs)
	}
	w.indent(depth)
	w.b.WriteString("</xs:complexType>\n")
}

var groupTags = [...]string{sequence: "xs:sequence", choice: "xs:choice", all: "xs:all"}

func (w *xsdWriter) group(depth int, g *group, p *particle) {
	w.indent(depth)
	fmt.Fprintf(&w.b, "<%s%s>\n", groupTags[g.kind], occurs(p))
	for _, q := range g.items {
		if q.elem != nil {
			w.element(depth+1, q.elem, q, false)
		} else {
			w.group(depth+1, q.choice, q)
		}
	}
	w.indent(depth)
	fmt.Fprintf(&w.b, "</%s>\n", groupTags[g.kind])
}

func (w *xsdWriter) attributes(depth int, attrs []*attribute) {
	for _, a := range attrs {
		w.indent(depth)
		fmt.Fprintf(&w.b, `<xs:attribute name="%s" type="%s"`, a.name, a.typ.name)
		if a.required {
			w.b.WriteString(` use="required"`)
		}
		if a.doc == "" {
			w.b.WriteString("/>\n")
			continue
		}
		w.b.WriteString(">\n")
		w.annotation(depth+1, a.doc)
		w.indent(depth)
		w.b.WriteString("</xs:attribute>\n")
	}
}

func (w *xsdWriter) simpleType(depth int, s *simpleType) {
	w.indent(depth)
	fmt.Fprintf(&w.b, `<xs:simpleType name="%s">`+"\n", s.name)
	doc := s.doc
	if s.limited() {
		doc = strings.TrimSpace(doc + " Exceeding it is answered with 4100 (Validation failed).")
	}
	w.annotation(depth+1, doc)
	w.indent(depth + 1)
	fmt.Fprintf(&w.b, `<xs:restriction base="%s">`+"\n", s.base)
	for _, v := range s.enum {
		w.indent(depth + 2)
		w.b.WriteString(`<xs:enumeration value="`)
		w.b.WriteString(xsdAttr.Replace(v))
		w.b.WriteString("\"/>\n")
	}
	if s.pattern != "" {
		w.indent(depth + 2)
		w.b.WriteString(`<xs:pattern value="`)
		w.b.WriteString(xsdAttr.Replace(s.pattern))
		w.b.WriteString("\"/>\n")
	}
	if s.maxLength > 0 {
		w.indent(depth + 2)
		fmt.Fprintf(&w.b, `<xs:maxLength value="%d"/>`+"\n", s.maxLength)
	}
	if s.minInc != nil {
		w.indent(depth + 2)
		fmt.Fprintf(&w.b, `<xs:minInclusive value="%s"/>`+"\n", s.minInc.text)
	}
	if s.maxInc != nil {
		w.indent(depth + 2)
		fmt.Fprintf(&w.b, `<xs:maxInclusive value="%s"/>`+"\n", s.maxInc.text)
	}
	w.indent(depth + 1)
	w.b.WriteString("</xs:restriction>\n")
	w.indent(depth)
	w.b.WriteString("</xs:simpleType>\n")
}
