package cybertip

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
)

// This file holds the vocabulary in which the schema is written. The schema
// itself is in definitions.go; the validator (validate.go) walks it and the
// XSD writer (xsd.go) prints it, so neither can know anything the other does
// not.

// builtin is an XML Schema built-in type that a simple type restricts.
type builtin int

const (
	xsString builtin = iota
	xsToken
	xsBoolean
	xsInt
	xsLong
	xsDouble
	xsDateTime
	xsDate
)

var builtinNames = [...]string{
	xsString:   "xs:string",
	xsToken:    "xs:token",
	xsBoolean:  "xs:boolean",
	xsInt:      "xs:int",
	xsLong:     "xs:long",
	xsDouble:   "xs:double",
	xsDateTime: "xs:dateTime",
	xsDate:     "xs:date",
}

func (b builtin) String() string { return builtinNames[b] }

// simpleType is a built-in type or a restriction of one. Facets fall into
// two classes with different answers (see the package documentation):
// enumerations and patterns belong to the CyberTipline schema itself, while
// maxLength and the inclusive bounds are the documented limits that the
// published NCMEC XSD lacks.
type simpleType struct {
	name string // "" for an anonymous type; a builtin's name for a builtin
	doc  string
	base builtin

	enum    []string
	pattern string         // XSD regular expression, implicitly anchored
	re      *regexp.Regexp // pattern in Go syntax, anchored

	// Documented limits. maxLength counts characters (code points).
	maxLength      int // 0: none
	minInc, maxInc *bound
}

// bound is an inclusive numeric bound, kept as text for the XSD.
type bound struct {
	text string
	val  float64
}

func newBound(s string) *bound {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return &bound{text: s, val: v}
}

// builtin types used directly.
var (
	tString   = &simpleType{name: "xs:string", base: xsString}
	tToken    = &simpleType{name: "xs:token", base: xsToken}
	tBoolean  = &simpleType{name: "xs:boolean", base: xsBoolean}
	tInt      = &simpleType{name: "xs:int", base: xsInt}
	tLong     = &simpleType{name: "xs:long", base: xsLong}
	tDateTime = &simpleType{name: "xs:dateTime", base: xsDateTime}
	tDate     = &simpleType{name: "xs:date", base: xsDate}
)

func (t *simpleType) isBuiltin() bool { return t.name != "" && t.name[:3] == "xs:" }

// limited reports whether the type carries a documented limit.
func (t *simpleType) limited() bool {
	return t.maxLength > 0 || t.minInc != nil || t.maxInc != nil
}

// enumType declares a named enumeration of tokens.
func enumType(name, doc string, values ...string) *simpleType {
	return &simpleType{name: name, doc: doc, base: xsToken, enum: values}
}

// maxLen declares a named string type limited to n characters.
func maxLen(name string, n int) *simpleType {
	return &simpleType{
		name:      name,
		doc:       fmt.Sprintf("Documented limit: at most %d characters.", n),
		base:      xsString,
		maxLength: n,
	}
}

// rangeType declares a named numeric type with inclusive bounds.
func rangeType(name, doc string, base builtin, min, max string) *simpleType {
	return &simpleType{name: name, doc: doc, base: base, minInc: newBound(min), maxInc: newBound(max)}
}

// patternType declares a named string type whose values match an XSD
// pattern. goRE is the same language in Go syntax; the two are kept side by
// side because XSD and RE2 escape differently, and a test matches them
// against each other through libxml2.
func patternType(name, doc, xsdPattern, goRE string) *simpleType {
	return &simpleType{
		name:    name,
		doc:     doc,
		base:    xsString,
		pattern: xsdPattern,
		re:      regexp.MustCompile(`^(?:` + goRE + `)$`),
	}
}

// attribute is an attribute declaration.
type attribute struct {
	name     string
	typ      *simpleType
	required bool
	doc      string
}

func attr(name string, t *simpleType, doc string) *attribute {
	return &attribute{name: name, typ: t, doc: doc}
}

func requiredAttr(name string, t *simpleType, doc string) *attribute {
	return &attribute{name: name, typ: t, required: true, doc: doc}
}

type groupKind int

const (
	sequence groupKind = iota
	choice
	all
)

// group is a model group. A sequence holds elements and choices; a choice
// and an all group hold elements only. The validator relies on this shape
// (checked by checkSchema), which is all the CyberTipline schema needs.
type group struct {
	kind  groupKind
	items []*particle
}

// particle is an element or a nested choice, with its occurrence range.
// max < 0 means unbounded.
type particle struct {
	min, max int
	elem     *element
	choice   *group
}

const unbounded = -1

// names returns the element names that can start the particle.
func (p *particle) names() []string {
	if p.elem != nil {
		return []string{p.elem.name}
	}
	var ns []string
	for _, q := range p.choice.items {
		ns = append(ns, q.elem.name)
	}
	return ns
}

// match returns the element of the particle named name, or nil.
func (p *particle) match(name string) *element {
	if p.elem != nil {
		if p.elem.name == name {
			return p.elem
		}
		return nil
	}
	for _, q := range p.choice.items {
		if q.elem.name == name {
			return q.elem
		}
	}
	return nil
}

// complexType is a complex type: attributes plus either simple content
// (text), element content (model), or neither (empty content).
type complexType struct {
	name  string // "" for an anonymous type
	doc   string
	attrs []*attribute
	text  *simpleType
	model *group

	// parts is model as a sequence of particles, filled in by
	// compileSchema: a top-level choice is one particle occurring once.
	parts []*particle
}

// element is an element declaration with either a simple or a complex type.
// Global elements are declared at the top of the XSD and referenced where
// used, as in the NCMEC XSD; the validator treats them like local ones.
type element struct {
	name    string
	doc     string
	global  bool
	simple  *simpleType
	complex *complexType
	// fixed is the value constraint of presence flags ("true"): the element
	// may be empty or hold exactly that text.
	fixed string

	// start (without attributes) and end are the element's tags in a
	// canonical token stream, boxed once by compileSchema rather than for
	// every occurrence; see startToken and endToken.
	start, end xml.Token
}

// startToken returns the start tag of e with attrs for a canonical token
// stream.
func (e *element) startToken(attrs []xml.Attr) xml.Token {
	if attrs == nil && e.start != nil {
		return e.start
	}
	return xml.StartElement{Name: xml.Name{Local: e.name}, Attr: attrs}
}

// endToken returns the end tag of e for a canonical token stream.
func (e *element) endToken() xml.Token {
	if e.end != nil {
		return e.end
	}
	return xml.EndElement{Name: xml.Name{Local: e.name}}
}

// Particle constructors. They read like the reference's tables:
// one(e) is "1", opt(e) "0..1", many(e) "0..n", some(e) "1..n".
func one(e *element) *particle  { return &particle{min: 1, max: 1, elem: e} }
func opt(e *element) *particle  { return &particle{min: 0, max: 1, elem: e} }
func many(e *element) *particle { return &particle{min: 0, max: unbounded, elem: e} }
func some(e *element) *particle { return &particle{min: 1, max: unbounded, elem: e} }

// optChoice is a choice of single elements occurring at most once.
func optChoice(es ...*element) *particle {
	g := &group{kind: choice}
	for _, e := range es {
		g.items = append(g.items, one(e))
	}
	return &particle{min: 0, max: 1, choice: g}
}

func seq(items ...*particle) *group { return &group{kind: sequence, items: items} }

// choiceOf is a choice of single elements (the whole content of an element).
func choiceOf(es ...*element) *group {
	g := &group{kind: choice}
	for _, e := range es {
		g.items = append(g.items, one(e))
	}
	return g
}

// allOf is an xs:all group of optional elements.
func allOf(es ...*element) *group {
	g := &group{kind: all}
	for _, e := range es {
		g.items = append(g.items, opt(e))
	}
	return g
}

// el declares a local element of a simple type.
func el(name string, t *simpleType) *element { return &element{name: name, simple: t} }

// elc declares a local element of a complex type.
func elc(name string, t *complexType) *element { return &element{name: name, complex: t} }

// flag declares a presence flag: xs:boolean fixed to true.
func flag(name string) *element { return &element{name: name, simple: tBoolean, fixed: "true"} }
