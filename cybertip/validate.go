package cybertip

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
)

// Bounds on what ParseReport and ParseFileDetails read. The schema bounds
// the depth of a document (an element it does not declare ends the walk),
// but not its width: these keep a hostile document from costing more than a
// large honest one.
const (
	// MaxDocumentSize is the largest document accepted, in bytes. Servers
	// should stop reading a request body beyond it.
	MaxDocumentSize = 8 << 20
	// MaxElements is the most elements a document may contain.
	MaxElements = 20_000
)

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// validator walks the tokens of one document against the schema and records
// a canonical copy of it as a token stream (toks): the same elements, each
// a StartElement with its attributes in schema order, the CharData of its
// canonical value if it has simple content, and an EndElement; flags as
// "true". The tokens are built from the schema's names (a tag without
// attributes is boxed once per declaration: [element.startToken]) and the
// walk's own canonical strings and copied text, never taken from the
// tokenizer, whose CharData is valid only until it reads on. Only that
// stream is decoded (see [decodeTokens]), so the decoder never sees
// anything the walk has not checked, and the document is tokenized once.
type validator struct {
	root     *element
	stack    []*frame
	toks     []xml.Token
	elements int
	sawRoot  bool
	// limit is the first violation of a documented limit. The walk goes on
	// after one so that a schema violation later in the document, which
	// takes precedence, is still found.
	limit *valueError
}

// frame is an open element.
type frame struct {
	el   *element
	ct   *complexType // nil for an element of simple type
	path string

	// Content-model state: the current particle of a sequence and how
	// often it has matched; for an xs:all group, the members seen.
	pos, count int
	seen       uint64

	text []byte // character content of simple content
}

// validate checks data against the schema with root as the document
// element, and returns the canonical copy as a balanced token stream for
// [decodeTokens]. The slice is the caller's; tags may be shared with other
// streams, which is safe because a boxed tag is immutable and
// encoding/xml works on copies. Errors are *guardian.Error:
// EMALFORMED for anything not well-formed or not valid against the schema,
// EVALIDATION for a documented limit or a resource bound.
func validate(data []byte, root *element) ([]xml.Token, error) {
	if len(data) > MaxDocumentSize {
		return nil, guardian.Errorf(guardian.EVALIDATION,
			"The document is %d bytes long; Guardian accepts at most %d.", len(data), MaxDocumentSize)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if err := checkPrologue(data); err != nil {
		return nil, err
	}

	// Documents run to about 20 bytes a token (the examples and the
	// generated documents of the tests, indented or not); a denser one
	// only grows the slice.
	v := &validator{root: root, toks: make([]xml.Token, 0, len(data)/16+8)}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, notWellFormed(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = v.start(t)
		case xml.EndElement:
			err = v.end()
		case xml.CharData:
			err = v.chars(t)
		case xml.ProcInst:
			// encoding/xml takes an XML declaration anywhere.
			if strings.EqualFold(t.Target, "xml") && (!first || t.Target != "xml") {
				err = malformed("The processing instruction target matching \"[xX][mM][lL]\" is not allowed: the XML declaration must be at the very start of the document.")
			}
		case xml.Directive:
			err = malformed("DOCTYPE and other markup declarations are not allowed: the document must be plain XML without a DTD or entity declarations.")
		case xml.Comment:
		}
		if err != nil {
			return nil, err
		}
	}
	if !v.sawRoot {
		return nil, malformed("Premature end of file: the document has no root element; '%s' is expected.", root.name)
	}
	if v.limit != nil {
		return nil, guardian.Errorf(guardian.EVALIDATION, "%s", v.limit.msg)
	}
	return v.toks, nil
}

// tokenStream reads a recorded token stream; see [decodeTokens].
type tokenStream struct {
	toks []xml.Token
	next int
}

func (s *tokenStream) Token() (xml.Token, error) {
	if s.next == len(s.toks) {
		return nil, io.EOF
	}
	t := s.toks[s.next]
	s.next++
	return t, nil
}

// decodeTokens decodes the canonical copy recorded by [validate] into v,
// with encoding/xml's decoder reading the tokens directly rather than
// tokenizing the document a second time.
func decodeTokens(toks []xml.Token, v any) error {
	return xml.NewTokenDecoder(&tokenStream{toks: toks}).Decode(v)
}

func malformed(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > maxMessage {
		msg = clean(msg, maxMessage)
	}
	return guardian.Errorf(guardian.EMALFORMED, "%s", msg)
}

func notWellFormed(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return malformed("The document is not well-formed XML (line %d): %s.", se.Line, clean(se.Msg, 200))
	}
	return malformed("The document is not well-formed XML: %s.", clean(err.Error(), 200))
}

// checkPrologue rejects encodings other than UTF-8 before encoding/xml
// does, to say so plainly.
func checkPrologue(data []byte) error {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return malformed("The document is encoded in UTF-16; Guardian accepts only UTF-8.")
	}
	if len(data) < 6 || !bytes.HasPrefix(data, []byte("<?xml")) || !isXMLSpace(rune(data[5])) {
		return nil
	}
	end := bytes.Index(data[:min(len(data), 512)], []byte("?>"))
	if end < 0 {
		return nil // encoding/xml reports it
	}
	enc, ok := pseudoAttr(string(data[5:end]), "encoding")
	if ok && !strings.EqualFold(enc, "UTF-8") {
		return malformed("The document declares encoding %s; Guardian accepts only UTF-8 (declared as \"UTF-8\" or not at all).", quote(enc))
	}
	return nil
}

// pseudoAttr returns the value of a pseudo-attribute of an XML declaration.
func pseudoAttr(decl, name string) (string, bool) {
	i := strings.Index(decl, name)
	if i < 0 {
		return "", false
	}
	s := strings.TrimLeft(decl[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(s, "=") {
		return "", false
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return "", false
	}
	q := s[0]
	j := strings.IndexByte(s[1:], q)
	if j < 0 {
		return "", false
	}
	return s[1 : 1+j], true
}

func (v *validator) top() *frame { return v.stack[len(v.stack)-1] }

func (v *validator) start(t xml.StartElement) error {
	v.elements++
	if v.elements > MaxElements {
		return guardian.Errorf(guardian.EVALIDATION,
			"The document has more than %d elements, Guardian's limit.", MaxElements)
	}
	name := t.Name.Local
	var (
		e    *element
		path string
	)
	if len(v.stack) == 0 {
		if v.sawRoot {
			return malformed("The markup in the document following the root element must be well-formed: found a second root element %s.", quote(qname(t.Name)))
		}
		v.sawRoot = true
		if t.Name.Space != "" || name != v.root.name {
			return malformed("cvc-elt.1.a: Cannot find the declaration of element %s: the document element must be '%s'.", quote(qname(t.Name)), v.root.name)
		}
		e, path = v.root, "/"+name
	} else {
		parent := v.top()
		if t.Name.Space != "" {
			return malformed("Element %s at %s is in namespace %s; CyberTipline elements are in no namespace.",
				quote(t.Name.Local), parent.path, quote(t.Name.Space))
		}
		var err error
		if e, path, err = parent.child(name); err != nil {
			return err
		}
	}

	f := &frame{el: e, ct: e.complex, path: path}
	attrs, err := v.attributes(f, t.Attr, len(v.stack) == 0)
	if err != nil {
		return err
	}
	v.toks = append(v.toks, e.startToken(attrs))
	v.stack = append(v.stack, f)
	return nil
}

// qname names an element of unknown namespace for a message.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// child advances the content model of f by an element named name and
// returns its declaration and path.
func (f *frame) child(name string) (*element, string, error) {
	switch {
	case f.ct == nil:
		return nil, "", malformed("cvc-type.3.1.2: Element '%s' at %s is a simple type, so it must have no element information item [children]; found element %s.",
			f.el.name, f.path, quote(name))
	case f.ct.text != nil:
		return nil, "", malformed("cvc-complex-type.2.2: Element '%s' at %s must have no element [children], and the value must be valid; found element %s.",
			f.el.name, f.path, quote(name))
	case f.ct.model == nil:
		return nil, "", malformed("cvc-complex-type.2.1: Element '%s' at %s must have no character or element information item [children], because the type's content type is empty; found element %s.",
			f.el.name, f.path, quote(name))
	case f.ct.model.kind == all:
		for i, p := range f.ct.model.items {
			if p.elem.name == name && f.seen&(1<<i) == 0 {
				f.seen |= 1 << i
				return p.elem, f.path + "/" + name, nil
			}
		}
		return nil, "", f.unexpected(name)
	}

	parts := f.ct.parts
	if f.pos < len(parts) {
		p := parts[f.pos]
		if p.max == unbounded || f.count < p.max {
			if e := p.match(name); e != nil {
				f.count++
				return e, f.path + "/" + name + index(p, f.count), nil
			}
		}
		if f.count >= p.min {
			for j := f.pos + 1; j < len(parts); j++ {
				q := parts[j]
				if e := q.match(name); e != nil {
					f.pos, f.count = j, 1
					return e, f.path + "/" + name + index(q, 1), nil
				}
				if q.min > 0 {
					break
				}
			}
		}
	}
	return nil, "", f.unexpected(name)
}

// index is the position suffix of a path step, given to elements that may
// repeat so that a message points at one of them.
func index(p *particle, n int) string {
	if p.max == 1 {
		return ""
	}
	return "[" + strconv.Itoa(n) + "]"
}

// expected lists the element names that may come next.
func (f *frame) expected() []string {
	var names []string
	if f.ct.model.kind == all {
		for i, p := range f.ct.model.items {
			if f.seen&(1<<i) == 0 {
				names = append(names, p.elem.name)
			}
		}
		return names
	}
	parts := f.ct.parts
	for j := f.pos; j < len(parts); j++ {
		p := parts[j]
		n := 0
		if j == f.pos {
			n = f.count
		}
		if p.max == unbounded || n < p.max {
			names = append(names, p.names()...)
		}
		if n < p.min {
			break
		}
	}
	return names
}

func (f *frame) unexpected(name string) error {
	exp := f.expected()
	if len(exp) == 0 {
		return malformed("cvc-complex-type.2.4.d: Invalid content was found starting with element %s at %s. No child element is expected at this point.",
			quote(name), f.path)
	}
	return malformed("cvc-complex-type.2.4.a: Invalid content was found starting with element %s at %s. One of '{%s}' is expected.",
		quote(name), f.path, strings.Join(exp, ", "))
}

// complete checks at the end tag that every required particle occurred.
func (f *frame) complete() error {
	if f.ct.model.kind == all {
		return nil // every member of our xs:all groups is optional
	}
	parts := f.ct.parts
	for j := f.pos; j < len(parts); j++ {
		n := 0
		if j == f.pos {
			n = f.count
		}
		if n < parts[j].min {
			return malformed("cvc-complex-type.2.4.b: The content of element '%s' at %s is not complete. One of '{%s}' is expected.",
				f.el.name, f.path, strings.Join(f.expected(), ", "))
		}
	}
	return nil
}

// attributes checks the attributes of the element of f and returns them
// with canonical values in schema order, nil if there are none.
func (v *validator) attributes(f *frame, attrs []xml.Attr, root bool) ([]xml.Attr, error) {
	var decls []*attribute
	if f.ct != nil {
		decls = f.ct.attrs
	}
	// out holds the canonical attributes by declaration index; an empty
	// name marks one that is absent.
	var out []xml.Attr
	if len(decls) > 0 {
		out = make([]xml.Attr, len(decls))
	}
	var seen map[xml.Name]bool
	if len(attrs) > 1 {
		seen = make(map[xml.Name]bool, len(attrs))
	}
	for _, a := range attrs {
		if seen != nil {
			// encoding/xml does not check this well-formedness rule.
			if seen[a.Name] {
				return nil, malformed("Attribute %s was already specified for element '%s' at %s.", quote(qname(a.Name)), f.el.name, f.path)
			}
			seen[a.Name] = true
		}
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
			// A namespace declaration, not an attribute. A non-empty
			// default namespace puts elements in a namespace, which
			// the element check rejects.
			continue
		case a.Name.Space == xsiNamespace:
			if root && a.Name.Local == "noNamespaceSchemaLocation" {
				continue // a hint to other validators; ignored
			}
			return nil, malformed("cvc-complex-type.3.2.2: Attribute %s is not allowed to appear in element '%s' at %s; of the XML Schema instance attributes only xsi:noNamespaceSchemaLocation on the root element is accepted.",
				quote("xsi:"+a.Name.Local), f.el.name, f.path)
		case a.Name.Space != "":
			return nil, malformed("cvc-complex-type.3.2.2: Attribute %s is not allowed to appear in element '%s' at %s.",
				quote(qname(a.Name)), f.el.name, f.path)
		}
		i := -1
		for k, d := range decls {
			if d.name == a.Name.Local {
				i = k
				break
			}
		}
		if i < 0 {
			return nil, malformed("cvc-complex-type.3.2.2: Attribute %s is not allowed to appear in element '%s' at %s.",
				quote(a.Name.Local), f.el.name, f.path)
		}
		canon, verr := checkValue(decls[i].typ, normalizeAttr(a.Value), f.path+"/@"+a.Name.Local)
		if verr != nil {
			if !verr.limit {
				return nil, malformed("%s", verr.msg)
			}
			if v.limit == nil {
				v.limit = verr
			}
		}
		out[i] = xml.Attr{Name: xml.Name{Local: decls[i].name}, Value: canon}
	}
	n := 0
	for i, d := range decls {
		if out[i].Name.Local == "" {
			if d.required {
				return nil, malformed("cvc-complex-type.4: Attribute '%s' must appear on element '%s' at %s.", d.name, f.el.name, f.path)
			}
			continue
		}
		out[n] = out[i]
		n++
	}
	if n == 0 {
		return nil, nil
	}
	return out[:n], nil
}

// normalizeAttr applies XML attribute-value normalization, which
// encoding/xml leaves out: each whitespace character becomes a space.
// (Character references to whitespace should survive it; encoding/xml has
// already replaced them, so they are normalized too.)
func normalizeAttr(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func (v *validator) chars(t xml.CharData) error {
	if len(v.stack) == 0 {
		if !isAllXMLSpace(t) {
			return malformed("Content is not allowed outside the root element: found text %s.", quote(string(t)))
		}
		return nil
	}
	f := v.top()
	switch {
	case f.ct == nil || f.ct.text != nil:
		f.text = append(f.text, t...)
	case f.ct.model == nil:
		if len(t) > 0 {
			return malformed("cvc-complex-type.2.1: Element '%s' at %s must have no character or element information item [children], because the type's content type is empty.",
				f.el.name, f.path)
		}
	default:
		if !isAllXMLSpace(t) {
			return malformed("cvc-complex-type.2.3: Element '%s' at %s cannot have character [children], because the type's content type is element-only; found text %s.",
				f.el.name, f.path, quote(strings.TrimSpace(string(t))))
		}
	}
	return nil
}

func (v *validator) end() error {
	f := v.top()
	v.stack = v.stack[:len(v.stack)-1]
	var (
		st   *simpleType
		text bool
	)
	switch {
	case f.ct == nil:
		st, text = f.el.simple, true
	case f.ct.text != nil:
		st, text = f.ct.text, true
	case f.ct.model != nil:
		if err := f.complete(); err != nil {
			return err
		}
	}
	if text {
		raw := string(f.text)
		var canon string
		if f.el.fixed != "" {
			// libxml2 compares the text itself with the fixed value,
			// so only an empty element or the exact value passes.
			if raw != "" && raw != f.el.fixed {
				if _, verr := checkValue(st, raw, f.path); verr != nil {
					return malformed("%s", verr.msg)
				}
				return malformed("cvc-elt.5.2.2.2.2: The value %s of element '%s' at %s does not match the {value constraint} value '%s'; send the element empty or with exactly '%s'.",
					quote(raw), f.el.name, f.path, f.el.fixed, f.el.fixed)
			}
			canon = f.el.fixed
		} else {
			var verr *valueError
			canon, verr = checkValue(st, raw, f.path)
			if verr != nil {
				if !verr.limit {
					return malformed("%s", verr.msg)
				}
				if v.limit == nil {
					v.limit = verr
				}
			}
		}
		switch {
		case canon == "":
			// <a></a> has no character data either.
		case canon == raw:
			// f.text is the walk's own copy, and the popped frame
			// no longer writes to it.
			v.toks = append(v.toks, xml.CharData(f.text))
		default:
			v.toks = append(v.toks, xml.CharData(canon))
		}
	}
	v.toks = append(v.toks, f.el.endToken())
	return nil
}
