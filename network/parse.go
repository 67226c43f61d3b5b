package network

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/guardian-network/guardian"
)

// The parser walks yaml.Node trees rather than decoding into structs because
// structs lose positions: every problem must name its line and column, also
// the ones found only when the whole file is known (an agreement with an
// agency defined nowhere, a country covered twice).
//
// The walk never stops at the first problem. A value found wrong is left
// zero in the result, and the checks across the file skip zero values, so
// that one mistake is reported once rather than again by every check that
// depends on it.

const (
	maxErrors = 100       // problems collected before the parser gives up counting
	maxVisits = 1_000_000 // nodes visited, aliases expanded, before the walk aborts
	maxText   = 4096      // bytes in any one value; a post-quantum age recipient is ~2000
	maxName   = 200       // bytes in a name or description
)

// parser holds one walk over one file.
type parser struct {
	file   string
	errs   ErrorList
	visits int

	hub        guardian.Hub
	hubCodes   map[string]bool // nil until hub.handling-codes parsed
	agencies   []*guardian.Agency
	agencyPos  []agencyPos
	agreements []*guardian.Agreement
	agreePos   []agreementPos

	agenciesNode   *yaml.Node // nil unless the key is present and a list
	agreementsNode *yaml.Node // nil unless the key is present and a list
	hubCountryNode *yaml.Node
	badAgencyIDs   map[string]bool // ids written but invalid, so references to them are not reported again
	badKinds       bool            // some agency's kind was invalid: counting fallbacks would mislead
}

// agencyPos and agreementPos remember where each value of an agency or an
// agreement was written, for the checks across the file.
type agencyPos struct {
	keys       map[string]*yaml.Node // the value node of each key present
	recipients []*yaml.Node          // parallel to Agency.Recipients
}

type agreementPos struct {
	node      *yaml.Node
	keys      map[string]*yaml.Node
	countries []*yaml.Node // parallel to Agreement.Countries
}

func (p *parser) parse(data []byte) (n *guardian.Network) {
	defer func() {
		if r := recover(); r != nil {
			if r != errTooComplex {
				panic(r)
			}
			p.errs = append(p.errs, &Error{File: p.file, Msg: errTooComplex.Error()})
			n = nil
		}
	}()
	root, ok := p.decode(data)
	if !ok {
		return nil
	}
	p.badAgencyIDs = make(map[string]bool)
	top := p.mapping(root, "the network file", []field{
		{"hub", true, p.parseHub},
		{"agencies", true, p.parseAgencies},
		{"agreements", true, p.parseAgreements},
	})
	if top == nil {
		return nil
	}
	p.checkAgencies()
	p.checkAgreements()
	if len(p.errs) > 0 {
		return nil
	}
	n, err := guardian.NewNetwork(p.hub, p.agencies, p.agreements)
	if err != nil {
		// The checks above cover NewNetwork's; reaching this is a bug in
		// them, which the fuzz test looks for.
		p.errs = append(p.errs, &Error{File: p.file, Msg: err.Error()})
		return nil
	}
	return n
}

// yamlErrorLine matches the "yaml: line N: msg" errors of the YAML parser.
var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses the YAML and returns the top node of its only document.
func (p *parser) decode(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		p.errs = append(p.errs, &Error{File: p.file, Msg: "the file is empty"})
		return nil, false
	} else if err != nil {
		p.yamlError(err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errorf(&next, "a second YAML document (after ---): a network file is one document")
		return nil, false
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errs = append(p.errs, &Error{File: p.file, Msg: "the file is empty"})
		return nil, false
	}
	return doc.Content[0], true
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "invalid YAML: " + m[2]})
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

// errorf records a problem at node n (nil: the whole file).
func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// sortErrors puts the problems in file order; problems of the whole file
// come first.
func (p *parser) sortErrors() {
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// visit counts a node and aborts the walk past maxVisits: aliases let a
// small file name the same large value many times over.
func (p *parser) visit() {
	p.visits++
	if p.visits > maxVisits {
		panic(errTooComplex)
	}
}

// deref follows aliases to the node they name.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		p.visit()
		n = n.Alias
	}
	return n
}

// describe names the shape of a node for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" || n.Value == "" {
			return "an empty value"
		}
		return "the value " + quote(n.Value)
	}
	return "an empty value"
}

// quote quotes a value from the file for a message, shortened so that a
// pasted blob does not flood the terminal.
func quote(s string) string {
	const limit = 48
	if c := guardian.Clip(s, limit); c != s {
		return strconv.Quote(strings.TrimSuffix(c, "…")) + "…"
	}
	return strconv.Quote(s)
}

// field is one key a mapping may have.
type field struct {
	name     string
	required bool
	parse    func(value *yaml.Node)
}

// mapping checks that n is a mapping whose keys are among fields, calls each
// field's parse on its value in file order, and reports missing required
// keys. It returns the value node of each key present, or nil if n is not a
// mapping.
func (p *parser) mapping(n *yaml.Node, what string, fields []field) map[string]*yaml.Node {
	n = p.deref(n)
	p.visit()
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of keys to values, not %s", what, describe(n))
		return nil
	}
	values := make(map[string]*yaml.Node, len(fields))
	keyLine := make(map[string]int, len(fields))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.deref(n.Content[i]), n.Content[i+1]
		p.visit()
		if k.ShortTag() == "!!merge" {
			p.errorf(k, "merge keys (<<) are not supported: write the keys out, or use an alias for a whole value")
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "a key in %s must be a word, not %s", what, describe(k))
			continue
		}
		fi := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		if fi < 0 {
			p.errorf(k, "unknown key %s in %s (expected %s)", quote(k.Value), what, fieldNames(fields))
			continue
		}
		if line, dup := keyLine[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, line)
			continue
		}
		keyLine[k.Value] = k.Line
		values[k.Value] = p.deref(v)
		fields[fi].parse(v)
	}
	for _, f := range fields {
		if _, ok := values[f.name]; f.required && !ok {
			p.errorf(n, "%s has no %q", what, f.name)
		}
	}
	return values
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// sequence checks that n is a list and calls each on its items.
func (p *parser) sequence(n *yaml.Node, what string, each func(item *yaml.Node)) bool {
	n = p.deref(n)
	p.visit()
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list, not %s", what, describe(n))
		return false
	}
	for _, item := range n.Content {
		p.visit()
		each(item)
	}
	return true
}

// scalar returns the text of a single non-empty value, one line long.
func (p *parser) scalar(n *yaml.Node, what string) (*yaml.Node, string, bool) {
	n = p.deref(n)
	p.visit()
	switch {
	case n.Kind != yaml.ScalarNode:
		p.errorf(n, "%s must be a single value, not %s", what, describe(n))
	case n.ShortTag() == "!!null" || n.Value == "":
		p.errorf(n, "%s is empty", what)
	case len(n.Value) > maxText:
		p.errorf(n, "%s is too long (%d bytes; at most %d)", what, len(n.Value), maxText)
	case !utf8.ValidString(n.Value) || strings.ContainsFunc(n.Value, unicode.IsControl):
		p.errorf(n, "%s must be one line of text without control characters", what)
	case strings.TrimSpace(n.Value) != n.Value:
		p.errorf(n, "%s %s has spaces at its start or end", what, quote(n.Value))
	default:
		return n, n.Value, true
	}
	return n, "", false
}

// text returns a free-text value such as a name.
func (p *parser) text(n *yaml.Node, what string) string {
	n, s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	if len(s) > maxName {
		p.errorf(n, "%s is too long (%d bytes; at most %d)", what, len(s), maxName)
		return ""
	}
	return s
}

// word returns a value that must be one of choices.
func (p *parser) word(n *yaml.Node, what string, choices ...string) string {
	n, s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	if !slices.Contains(choices, s) {
		p.errorf(n, "%s %s is not one of %s", what, quote(s), strings.Join(choices, ", "))
		return ""
	}
	return s
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// id returns an identifier: lower-case letters, digits and single hyphens.
// An invalid one is remembered so that references to it are not reported
// as well.
func (p *parser) id(n *yaml.Node, what string) string {
	n, s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	if len(s) > 64 || !idPattern.MatchString(s) {
		p.errorf(n, "%s %s must be at most 64 lower-case letters, digits and single hyphens, like \"py-cybercrime\"", what, quote(s))
		p.badAgencyIDs[s] = true
		return ""
	}
	return s
}

func (p *parser) country(n *yaml.Node, what string) string {
	n, s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	if err := checkCountry(s); err != nil {
		p.errorf(n, "%s %s", what, err)
		return ""
	}
	return s
}

func (p *parser) parseHub(n *yaml.Node) {
	p.mapping(n, "hub", []field{
		{"id", true, func(v *yaml.Node) { p.hub.ID = p.id(v, "hub id") }},
		{"name", true, func(v *yaml.Node) { p.hub.Name = p.text(v, "hub name") }},
		{"country", true, func(v *yaml.Node) {
			p.hubCountryNode = p.deref(v)
			p.hub.Country = p.country(v, "hub country")
		}},
		{"handling-codes", true, p.parseHandlingCodes},
	})
}

var handlingCodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:+._-]{0,31}$`)

func (p *parser) parseHandlingCodes(n *yaml.Node) {
	codes := make(map[string]bool)
	lines := make(map[string]int)
	failed := false
	ok := p.sequence(n, "handling-codes", func(item *yaml.Node) {
		var hc guardian.HandlingCode
		var codeNode *yaml.Node
		keys := p.mapping(item, "a handling code", []field{
			{"code", true, func(v *yaml.Node) {
				v, s, ok := p.scalar(v, "handling code")
				codeNode = v
				if !ok {
					return
				}
				if !handlingCodePattern.MatchString(s) {
					p.errorf(v, "handling code %s must be up to 32 letters, digits and : + . _ -, like H2 or TLP:AMBER", quote(s))
					return
				}
				hc.Code = s
			}},
			{"description", true, func(v *yaml.Node) { hc.Description = p.text(v, "handling code description") }},
		})
		if keys == nil || hc.Code == "" {
			failed = true
			return
		}
		if line, dup := lines[hc.Code]; dup {
			p.errorf(codeNode, "handling code %q is already defined at line %d", hc.Code, line)
			return
		}
		lines[hc.Code] = codeNode.Line
		codes[hc.Code] = true
		p.hub.HandlingCodes = append(p.hub.HandlingCodes, hc)
	})
	if !ok {
		return
	}
	if len(p.deref(n).Content) == 0 {
		p.errorf(p.deref(n), "handling-codes must list at least one code")
	}
	// With a code missing, an agreement's code may be the one that failed:
	// checking them against the rest would report it twice.
	if !failed {
		p.hubCodes = codes
	}
}

func (p *parser) parseAgencies(n *yaml.Node) {
	ok := p.sequence(n, "agencies", func(item *yaml.Node) {
		a := &guardian.Agency{}
		var pos agencyPos
		pos.keys = p.mapping(item, "an agency", []field{
			{"id", true, func(v *yaml.Node) { a.ID = p.id(v, "agency id") }},
			{"name", true, func(v *yaml.Node) { a.Name = p.text(v, "agency name") }},
			{"kind", true, func(v *yaml.Node) {
				a.Kind = guardian.AgencyKind(p.word(v, "kind", "partner", "liaison", "fallback", "domestic"))
			}},
			{"country", true, func(v *yaml.Node) { a.Country = p.country(v, "agency country") }},
			{"languages", true, func(v *yaml.Node) { a.Languages = p.languages(v) }},
			{"duty", true, func(v *yaml.Node) { a.Duty = p.duty(v) }},
			{"recipients", false, func(v *yaml.Node) { a.Recipients, pos.recipients = p.recipients(v) }},
		})
		// An agency whose kind is unknown may be the missing fallback or
		// domestic agency: say nothing about those then.
		p.badKinds = p.badKinds || a.Kind == ""
		if pos.keys == nil {
			return
		}
		p.agencies = append(p.agencies, a)
		p.agencyPos = append(p.agencyPos, pos)
	})
	if ok {
		p.agenciesNode = p.deref(n)
	}
}

var languagePattern = regexp.MustCompile(`^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?$`)

func (p *parser) languages(n *yaml.Node) []string {
	var langs []string
	ok := p.sequence(n, "languages", func(item *yaml.Node) {
		item, s, ok := p.scalar(item, "language")
		switch {
		case !ok:
		case !languagePattern.MatchString(s):
			p.errorf(item, "language %s must be a BCP 47 tag, like en, es or pt-BR", quote(s))
		case slices.Contains(langs, s):
			p.errorf(item, "language %s is listed twice", s)
		default:
			langs = append(langs, s)
		}
	})
	if ok && len(p.deref(n).Content) == 0 {
		p.errorf(p.deref(n), "languages must list at least one language")
	}
	return langs
}

func (p *parser) duty(n *yaml.Node) guardian.DutyContacts {
	var d guardian.DutyContacts
	p.mapping(n, "duty", []field{
		{"email", true, func(v *yaml.Node) {
			ok := p.sequence(v, "duty email", func(item *yaml.Node) {
				item, s, ok := p.scalar(item, "e-mail address")
				if !ok {
					return
				}
				if err := checkEmail(s); err != nil {
					p.errorf(item, "%v", err)
				} else if slices.Contains(d.Email, s) {
					p.errorf(item, "e-mail address %s is listed twice", s)
				} else {
					d.Email = append(d.Email, s)
				}
			})
			if ok && len(p.deref(v).Content) == 0 {
				p.errorf(p.deref(v), "duty email must list at least one address: the hub must be able to reach the agency")
			}
		}},
		{"webhook", false, func(v *yaml.Node) {
			v, s, ok := p.scalar(v, "webhook")
			if !ok {
				return
			}
			if err := checkWebhook(s); err != nil {
				p.errorf(v, "%v", err)
				return
			}
			d.Webhook = s
		}},
	})
	return d
}

func (p *parser) recipients(n *yaml.Node) ([]string, []*yaml.Node) {
	var recips []string
	var nodes []*yaml.Node
	var firstPQ *bool
	p.sequence(n, "recipients", func(item *yaml.Node) {
		item, s, ok := p.scalar(item, "recipient")
		if !ok {
			return
		}
		pq, err := checkRecipient(s)
		switch {
		case err != nil:
			p.errorf(item, "%v", err)
		case slices.Contains(recips, s):
			p.errorf(item, "recipient is listed twice")
		case firstPQ != nil && *firstPQ != pq:
			p.errorf(item, "post-quantum (age1pq1…) and classic (age1…) recipients cannot be mixed: age refuses to encrypt to both at once")
		default:
			firstPQ = &pq
			recips = append(recips, s)
			nodes = append(nodes, item)
		}
	})
	return recips, nodes
}

func (p *parser) parseAgreements(n *yaml.Node) {
	ok := p.sequence(n, "agreements", func(item *yaml.Node) {
		ag := &guardian.Agreement{}
		pos := agreementPos{node: p.deref(item)}
		pos.keys = p.mapping(item, "an agreement", []field{
			{"agency", true, func(v *yaml.Node) {
				if _, s, ok := p.scalar(v, "agency"); ok {
					ag.Agency = s
				}
			}},
			{"channel", true, func(v *yaml.Node) {
				ag.Channel = guardian.Channel(p.word(v, "channel", "direct", "liaison"))
			}},
			{"countries", false, func(v *yaml.Node) { ag.Countries, pos.countries = p.countries(v) }},
			{"data-scope", true, func(v *yaml.Node) { ag.DataScope = p.dataScope(v) }},
			{"handling-code", true, func(v *yaml.Node) {
				if _, s, ok := p.scalar(v, "handling-code"); ok {
					ag.HandlingCode = s
				}
			}},
			{"acknowledge-within", true, func(v *yaml.Node) { ag.AcknowledgeWithin = p.deadlines(v) }},
			{"retention", true, func(v *yaml.Node) {
				v, s, ok := p.scalar(v, "retention")
				if !ok {
					return
				}
				days, err := parseRetention(s)
				if err != nil {
					p.errorf(v, "%v", err)
					return
				}
				ag.RetentionDays = days
			}},
			{"dispatch", true, func(v *yaml.Node) {
				ag.Dispatch = guardian.Dispatch(p.word(v, "dispatch", "automatic", "confirm"))
			}},
		})
		if pos.keys == nil {
			return
		}
		p.agreements = append(p.agreements, ag)
		p.agreePos = append(p.agreePos, pos)
	})
	if ok {
		p.agreementsNode = p.deref(n)
	}
}

func (p *parser) countries(n *yaml.Node) ([]string, []*yaml.Node) {
	var codes []string
	var nodes []*yaml.Node
	p.sequence(n, "countries", func(item *yaml.Node) {
		item, s, ok := p.scalar(item, "country")
		if !ok {
			return
		}
		if err := checkCountry(s); err != nil {
			p.errorf(item, "country %v", err)
		} else if i := slices.Index(codes, s); i >= 0 {
			p.errorf(item, "country %s is listed twice in this agreement (first at line %d)", s, nodes[i].Line)
		} else {
			codes = append(codes, s)
			nodes = append(nodes, item)
		}
	})
	return codes, nodes
}

func (p *parser) dataScope(n *yaml.Node) guardian.DataScope {
	var scope guardian.DataScope
	ok := p.sequence(n, "data-scope", func(item *yaml.Node) {
		item, s, ok := p.scalar(item, "data-scope section")
		if !ok {
			return
		}
		sec, known := guardian.ScopeSection(s)
		switch {
		case !known:
			p.errorf(item, "unknown data-scope section %s (expected %s)", quote(s), strings.Join(guardian.DataScope(0xff).Sections(), ", "))
		case scope.Has(sec):
			p.errorf(item, "data-scope section %s is listed twice", s)
		default:
			scope |= sec
		}
	})
	if ok && scope.Has(guardian.ScopeFileContent) && !scope.Has(guardian.ScopeFiles) {
		p.errorf(p.deref(n), "data-scope has file-content without files: an agency that may see the content must also see which files there are")
	}
	return scope
}

// priorities are the keys of acknowledge-within, most urgent first.
var priorities = []string{"E", "1", "2", "3"}

func (p *parser) deadlines(n *yaml.Node) map[string]time.Duration {
	d := make(map[string]time.Duration, len(priorities))
	nodes := make(map[string]*yaml.Node, len(priorities))
	fields := make([]field, len(priorities))
	for i, pr := range priorities {
		fields[i] = field{pr, true, func(v *yaml.Node) {
			v, s, ok := p.scalar(v, "deadline for priority "+pr)
			if !ok {
				return
			}
			dur, err := parseDuration(s)
			if err != nil {
				p.errorf(v, "deadline for priority %s: %v", pr, err)
				return
			}
			d[pr], nodes[pr] = dur, v
		}}
	}
	if p.mapping(n, "acknowledge-within", fields) == nil {
		return nil
	}
	// A less urgent priority must not be answered sooner than a more
	// urgent one: that is almost always two values swapped.
	for i := 1; i < len(priorities); i++ {
		prev, cur := priorities[i-1], priorities[i]
		if nodes[prev] != nil && nodes[cur] != nil && d[cur] < d[prev] {
			p.errorf(nodes[cur], "deadline for priority %s (%s) is shorter than for the more urgent priority %s (%s)",
				cur, formatDuration(d[cur]), prev, formatDuration(d[prev]))
		}
	}
	if len(d) != len(priorities) {
		return nil
	}
	return d
}

// checkAgencies checks what concerns several agencies: unique ids, names
// and keys, one fallback and one domestic agency.
func (p *parser) checkAgencies() {
	ids := make(map[string]int)
	names := make(map[string]int)
	recipients := make(map[string]int)
	fallback, domestic := -1, -1
	for i, a := range p.agencies {
		pos := p.agencyPos[i]
		if a.ID != "" {
			if j, dup := ids[a.ID]; dup {
				p.errorf(pos.keys["id"], "agency id %q is already used at line %d", a.ID, p.agencyPos[j].keys["id"].Line)
			} else {
				ids[a.ID] = i
			}
		}
		if a.Name != "" {
			if j, dup := names[a.Name]; dup {
				p.errorf(pos.keys["name"], "agency name %q is already used at line %d", a.Name, p.agencyPos[j].keys["name"].Line)
			} else {
				names[a.Name] = i
			}
		}
		for k, r := range a.Recipients {
			if j, dup := recipients[r]; dup && j != i {
				p.errorf(pos.recipients[k], "recipient is already a key of agency %q: each agency needs its own keys, or one agency could read another's deliveries", p.agencies[j].ID)
			} else {
				recipients[r] = i
			}
		}
		switch a.Kind {
		case guardian.AgencyFallback:
			if fallback >= 0 {
				p.errorf(pos.keys["kind"], "a second fallback agency: the one at line %d is the fallback, and there must be exactly one", p.agencyPos[fallback].keys["kind"].Line)
			} else {
				fallback = i
			}
		case guardian.AgencyDomestic:
			if domestic >= 0 {
				p.errorf(pos.keys["kind"], "a second domestic agency: the one at line %d is the domestic agency, and there must be exactly one", p.agencyPos[domestic].keys["kind"].Line)
			} else {
				domestic = i
			}
		}
	}
	if p.agenciesNode == nil || p.badKinds {
		return
	}
	if fallback < 0 {
		p.errorf(p.agenciesNode, "no agency of kind fallback: one must receive the reports of countries that no agreement covers")
	}
	if domestic < 0 {
		p.errorf(p.agenciesNode, "no agency of kind domestic: one must receive the reports that have no location")
	} else if a := p.agencies[domestic]; a.Country != "" && p.hub.Country != "" && a.Country != p.hub.Country {
		p.errorf(p.agencyPos[domestic].keys["country"], "the domestic agency is in %s but the hub is in %s (line %d): the domestic agency is the one in the hub's country",
			a.Country, p.hub.Country, p.hubCountryNode.Line)
	}
}

// checkAgreements checks what relates agreements to agencies and to each
// other: the agency exists and has one agreement, the channel suits it, the
// countries suit it and are not covered twice, the handling code exists.
func (p *parser) checkAgreements() {
	agencies := make(map[string]*guardian.Agency)
	for _, a := range p.agencies {
		if _, dup := agencies[a.ID]; a.ID != "" && !dup {
			agencies[a.ID] = a
		}
	}
	type cover struct {
		agency string
		line   int
	}
	covered := map[guardian.Channel]map[string]cover{
		guardian.ChannelDirect:  make(map[string]cover),
		guardian.ChannelLiaison: make(map[string]cover),
	}
	agreementLine := make(map[string]int)
	for i, ag := range p.agreements {
		pos := p.agreePos[i]
		if ag.HandlingCode != "" && p.hubCodes != nil && !p.hubCodes[ag.HandlingCode] {
			p.errorf(pos.keys["handling-code"], "handling code %s is not one of the hub's handling-codes", quote(ag.HandlingCode))
		}
		if ag.Agency == "" {
			continue
		}
		a, ok := agencies[ag.Agency]
		if !ok {
			if !p.badAgencyIDs[ag.Agency] {
				p.errorf(pos.keys["agency"], "no agency has the id %s", quote(ag.Agency))
			}
			continue
		}
		if line, dup := agreementLine[ag.Agency]; dup {
			p.errorf(pos.keys["agency"], "agency %q already has an agreement at line %d: list all its countries in that one", ag.Agency, line)
			continue
		}
		agreementLine[ag.Agency] = pos.node.Line
		if a.Kind == "" || ag.Channel == "" {
			continue
		}
		if a.Kind == guardian.AgencyLiaison && ag.Channel != guardian.ChannelLiaison {
			p.errorf(pos.keys["channel"], "agency %q is a liaison office, so its agreement's channel must be liaison", a.ID)
			continue
		}
		if a.Kind != guardian.AgencyLiaison && ag.Channel == guardian.ChannelLiaison {
			p.errorf(pos.keys["channel"], "channel liaison is for liaison offices, and agency %q is of kind %s", a.ID, a.Kind)
			continue
		}
		switch a.Kind {
		case guardian.AgencyPartner, guardian.AgencyLiaison:
			if len(ag.Countries) == 0 {
				if v, ok := pos.keys["countries"]; !ok {
					p.errorf(pos.node, "a %s agreement must list the countries it covers", a.Kind)
				} else if len(v.Content) == 0 && v.Kind == yaml.SequenceNode {
					p.errorf(v, "a %s agreement must list the countries it covers", a.Kind)
				}
			}
		case guardian.AgencyFallback:
			if v, ok := pos.keys["countries"]; ok && len(v.Content) > 0 {
				p.errorf(v, "the fallback agreement lists no countries: it covers every country that no other agreement covers")
				continue
			}
		}
		for k, c := range ag.Countries {
			m := covered[ag.Channel]
			if prev, dup := m[c]; dup {
				p.errorf(pos.countries[k], "country %s is already covered by the %s agreement of %q (line %d)", c, ag.Channel, prev.agency, prev.line)
			} else {
				m[c] = cover{ag.Agency, pos.countries[k].Line}
			}
		}
	}
	if p.agreementsNode == nil {
		return
	}
	for i, a := range p.agencies {
		if _, ok := agreementLine[a.ID]; a.ID != "" && !ok && agencies[a.ID] == a {
			p.errorf(p.agencyPos[i].keys["id"], "agency %q has no agreement: add one under agreements, or remove the agency", a.ID)
		}
	}
}
