package cybertip

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"testing"
)

func TestXSD_AcceptsReferenceExamples(t *testing.T) {
	docs := [][]byte{
		MustReadTestdata(t, "report-minimal.xml"),
		MustReadTestdata(t, "report-rich.xml"),
		MustReadTestdata(t, "filedetails.xml"),
	}
	for i, ok := range MustXmllintValidate(t, docs) {
		if !ok {
			t.Errorf("libxml2 rejects example %d", i)
		}
	}
}

func TestXSD_Shape(t *testing.T) {
	x := XSD()
	if !bytes.Equal(x, XSD()) {
		t.Fatal("XSD is not stable")
	}
	var schema struct {
		XMLName         xml.Name
		TargetNamespace *string `xml:"targetNamespace,attr"`
		ElementForm     string  `xml:"elementFormDefault,attr"`
		Elements        []struct {
			Name string `xml:"name,attr"`
		} `xml:"element"`
	}
	if err := xml.Unmarshal(x, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.XMLName.Local != "schema" || schema.TargetNamespace != nil || schema.ElementForm != "qualified" {
		t.Errorf("schema element: %+v", schema)
	}
	var names []string
	for _, e := range schema.Elements {
		names = append(names, e.Name)
	}
	// Reference §3.0: the global elements of the NCMEC XSD.
	want := []string{"report", "incidentSummary", "internetDetails", "webPageIncident", "emailIncident",
		"newsgroupIncident", "chatImIncident", "onlineGamingIncident", "cellPhoneIncident",
		"nonInternetIncident", "peer2peerIncident", "lawEnforcement", "reporter", "personOrUserReported",
		"intendedRecipient", "victim", "fileDetails", "details", "reportResponse", "reportDoneResponse"}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("global elements\n%v\nwant\n%v", names, want)
	}
	for _, frag := range []string{
		`<xs:element name="sextortion" type="xs:boolean" fixed="true" minOccurs="0"/>`,
		`<xs:element name="generativeAi" type="xs:boolean" fixed="true" minOccurs="0"/>`,
		`<xs:choice minOccurs="0">
          <xs:element name="potentialMeme" type="xs:boolean"/>
          <xs:element name="fileAnnotations" type="fileAnnotations"/>
        </xs:choice>`,
		`<xs:element name="responseDescription" type="xs:string" minOccurs="0"/>`,
		`<xs:attribute name="type" type="associatedAccountType" use="required"/>`,
		`<xs:maxLength value="255"/>`,
		`<xs:maxLength value="2083"/>`,
		`<xs:minInclusive value="0"/>
      <xs:maxInclusive value="150"/>`,
		`<xs:minInclusive value="1"/>
      <xs:maxInclusive value="65535"/>`,
		`<xs:pattern value="[0-9]+"/>
      <xs:maxLength value="10"/>`,
		`<xs:pattern value="\+[0-9]{1,3}"/>`,
		`<xs:enumeration value="Online Enticement of Children for Sexual Acts"/>`,
		`<xs:enumeration value=""/>`,
		`<xs:complexType name="reportAnnotations">`,
		`<xs:all>`,
	} {
		if !strings.Contains(string(x), frag) {
			t.Errorf("XSD lacks %s", frag)
		}
	}
	for _, absent := range []string{"informational", "ageAssertionDiscrepancy", "accountType", "targetNamespace"} {
		if strings.Contains(string(x), absent) {
			t.Errorf("XSD contains %q", absent)
		}
	}
}

// TestCompileSchema_Rejects checks that mistakes in a schema definition
// are found, rather than turning into a validator that disagrees with its
// XSD.
func TestCompileSchema_Rejects(t *testing.T) {
	ambiguous := &element{name: "a", global: true, complex: &complexType{model: seq(
		opt(el("x", tString)), opt(el("y", tString)), many(el("x", tString)),
	)}}
	repeatedAfterOptional := &element{name: "b", global: true, complex: &complexType{model: seq(
		many(el("x", tString)), opt(el("x", tString)), one(el("z", tString)),
	)}}
	inconsistent := &element{name: "c", global: true, complex: &complexType{model: seq(
		one(el("x", tString)), one(el("y", tString)), one(el("x", tInt)),
	)}}
	sameName := &element{name: "d", global: true, complex: &complexType{model: seq(
		one(elc("x", &complexType{name: "string255"})),
	)}}
	required := &group{kind: all, items: []*particle{one(el("x", tString))}}
	allRequired := &element{name: "e", global: true, complex: &complexType{model: required}}
	unlisted := &element{name: "f", global: true, complex: &complexType{model: seq(
		one(&element{name: "g", global: true, simple: tString}),
	)}}
	badFixed := &element{name: "h", global: true, complex: &complexType{model: seq(
		opt(&element{name: "x", simple: tString, fixed: "yes"}),
	)}}
	for _, tc := range []struct {
		root *element
		want string
	}{
		{ambiguous, `content model is ambiguous at "x"`},
		{repeatedAfterOptional, `content model is ambiguous at "x"`},
		{inconsistent, `elements named "x" with different types`},
		{sameName, `two types are named "string255"`},
		{allRequired, "xs:all members must be optional"},
		{unlisted, `global element "g" is missing from globals`},
		{badFixed, "only boolean presence flags may be fixed"},
	} {
		roots := []*element{tc.root, eReport}
		if tc.root == sameName {
			roots = append(roots, eFileDetails)
		}
		err := compileSchema(roots)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.root.name, err, tc.want)
		}
	}
	if err := compileSchema(globals); err != nil {
		t.Errorf("the schema itself: %v", err)
	}
}
