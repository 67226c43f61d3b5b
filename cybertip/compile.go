package cybertip

import (
	"encoding/xml"
	"errors"
	"fmt"
)

func init() {
	if err := compileSchema(globals); err != nil {
		panic("cybertip: invalid schema definition: " + err.Error())
	}
}

// compileSchema prepares the schema for the validator and checks the rules
// that the validator and the XSD writer rely on. A failure is a mistake in
// definitions.go, found by any test run.
//
// Checked: sequences hold elements and choices; choices and xs:all groups
// hold single elements; xs:all members are optional and few enough for a
// bit set; a sequence is deterministic (XML Schema's Unique Particle
// Attribution, which the greedy walk of frame.child needs); elements of one
// name in one model share a declaration's type; type names are unique;
// global elements are all among roots; patterns have a Go form.
func compileSchema(roots []*element) error {
	c := &compiler{
		types:   map[string]any{},
		done:    map[*complexType]bool{},
		globals: map[*element]bool{},
	}
	for _, e := range roots {
		c.globals[e] = true
	}
	for _, e := range roots {
		c.element(e)
	}
	return errors.Join(c.errs...)
}

type compiler struct {
	types   map[string]any
	done    map[*complexType]bool
	globals map[*element]bool
	errs    []error
}

func (c *compiler) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

func (c *compiler) element(e *element) {
	if e.start == nil {
		// Shared by every decoder: an interface holding a struct
		// without slices is immutable, and the decoder works on
		// copies of the tokens it reads.
		e.start = xml.StartElement{Name: xml.Name{Local: e.name}}
		e.end = xml.EndElement{Name: xml.Name{Local: e.name}}
	}
	if e.global && !c.globals[e] {
		c.fail("global element %q is missing from globals", e.name)
	}
	if (e.simple == nil) == (e.complex == nil) {
		c.fail("element %q needs exactly one of a simple or a complex type", e.name)
		return
	}
	if e.fixed != "" && (e.simple == nil || e.simple.base != xsBoolean || e.fixed != "true") {
		c.fail("element %q: only boolean presence flags may be fixed, to \"true\"", e.name)
	}
	if e.simple != nil {
		c.simple(e.simple)
		return
	}
	c.complex(e.complex)
}

func (c *compiler) named(name string, t any) {
	if prev, ok := c.types[name]; ok && prev != t {
		c.fail("two types are named %q", name)
	}
	c.types[name] = t
}

func (c *compiler) simple(t *simpleType) {
	if t.isBuiltin() {
		return
	}
	if t.name == "" {
		c.fail("simple types must be named, so that the XSD can refer to them")
		return
	}
	c.named(t.name, t)
	if (t.pattern == "") != (t.re == nil) {
		c.fail("simple type %q: pattern needs both its XSD and Go form", t.name)
	}
	if (t.minInc != nil || t.maxInc != nil) && t.base != xsInt && t.base != xsLong && t.base != xsDouble {
		c.fail("simple type %q: bounds need a numeric base", t.name)
	}
	if t.maxLength > 0 && t.base != xsString && t.base != xsToken {
		c.fail("simple type %q: maxLength needs a string base", t.name)
	}
}

func (c *compiler) complex(t *complexType) {
	if c.done[t] {
		return
	}
	c.done[t] = true
	if t.name != "" {
		c.named(t.name, t)
	}
	for i, a := range t.attrs {
		c.simple(a.typ)
		for _, b := range t.attrs[:i] {
			if a.name == b.name {
				c.fail("type %q: attribute %q declared twice", t.name, a.name)
			}
		}
	}
	if t.text != nil {
		if t.model != nil {
			c.fail("type %q: simple and element content at once", t.name)
		}
		c.simple(t.text)
		return
	}
	if t.model == nil {
		return // empty content
	}
	switch t.model.kind {
	case sequence:
		t.parts = t.model.items
	case choice:
		t.parts = []*particle{{min: 1, max: 1, choice: t.model}}
	case all:
		if len(t.model.items) > 64 {
			c.fail("type %q: xs:all group too large", t.name)
		}
		for _, p := range t.model.items {
			if p.elem == nil || p.min != 0 || p.max != 1 {
				c.fail("type %q: xs:all members must be optional single elements", t.name)
			}
		}
	}
	for _, p := range t.parts {
		if p.choice != nil {
			for _, q := range p.choice.items {
				if q.elem == nil || q.min != 1 || q.max != 1 {
					c.fail("type %q: choices must hold single elements", t.name)
				}
			}
		}
		if p.min < 0 || (p.max != unbounded && p.max < max(p.min, 1)) {
			c.fail("type %q: bad occurrence range %d..%d", t.name, p.min, p.max)
		}
	}
	c.deterministic(t)
	for _, p := range t.model.items {
		c.particle(p)
	}
}

func (c *compiler) particle(p *particle) {
	if p.elem != nil {
		c.element(p.elem)
		return
	}
	for _, q := range p.choice.items {
		c.particle(q)
	}
}

// deterministic checks that, from any particle, the names that can come
// next (that particle again, and the optional ones after it up to the first
// required one) are distinct, and that equal names share one type.
func (c *compiler) deterministic(t *complexType) {
	decl := map[string]*element{}
	ps := t.parts
	if t.model.kind == all {
		ps = t.model.items
	}
	for _, p := range ps {
		for _, n := range p.names() {
			e := p.match(n)
			if d, ok := decl[n]; ok && (d.simple != e.simple || d.complex != e.complex || d.fixed != e.fixed) {
				c.fail("type %q: elements named %q with different types", t.name, n)
			}
			decl[n] = e
		}
	}
	if t.model.kind == all {
		seen := map[string]bool{}
		for _, p := range ps {
			if seen[p.elem.name] {
				c.fail("type %q: %q twice in xs:all", t.name, p.elem.name)
			}
			seen[p.elem.name] = true
		}
		return
	}
	for i := range t.parts {
		seen := map[string]bool{}
		for j := i; j < len(t.parts); j++ {
			for _, n := range t.parts[j].names() {
				if seen[n] {
					c.fail("type %q: content model is ambiguous at %q", t.name, n)
				}
				seen[n] = true
			}
			if t.parts[j].min > 0 {
				break
			}
		}
	}
}
