package cybertip

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/guardian-network/guardian"
)

const (
	minimalSummary  = "<incidentSummary>\n    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>\n    <incidentDateTime>2024-03-01T12:00:00Z</incidentDateTime>\n  </incidentSummary>"
	minimalPerson   = "<firstName>Jordan</firstName>"
	minimalReporter = "<reporter>\n    <reportingPerson>\n      <firstName>Jordan</firstName>\n      <lastName>Example</lastName>\n      <email>trust-safety@example.com</email>\n    </reportingPerson>\n  </reporter>"
)

type violation struct {
	name string
	doc  []byte
	code string // guardian error code
	msg  string // exact message, or a substring when prefixed by "~"
}

func checkViolations(t *testing.T, parse func([]byte) error, cases []violation) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := parse(tc.doc)
			if got := errCode(t, err); got != tc.code {
				t.Fatalf("code = %q, want %q (err: %v)", got, tc.code, err)
			}
			msg := guardian.ErrorMessage(err)
			if sub, ok := strings.CutPrefix(tc.msg, "~"); ok {
				if !strings.Contains(msg, sub) {
					t.Errorf("message %q\ndoes not contain %q", msg, sub)
				}
			} else if msg != tc.msg {
				t.Errorf("message %q\nwant    %q", msg, tc.msg)
			}
			assertSafeMessage(t, msg)
		})
	}
}

// assertSafeMessage checks what every message must be: short, printable
// and not just a number.
func assertSafeMessage(tb testing.TB, msg string) {
	tb.Helper()
	if len(msg) > maxMessage+64 {
		tb.Errorf("message is %d bytes long", len(msg))
	}
	for _, r := range msg {
		if !unicode.IsGraphic(r) {
			tb.Errorf("message contains %U: %q", r, msg)
		}
	}
	if looksNumeric(msg) {
		tb.Errorf("message is numeric: %q", msg)
	}
}

func parseReportErr(b []byte) error      { _, err := ParseReport(b); return err }
func parseFileDetailsErr(b []byte) error { _, err := ParseFileDetails(b); return err }

func TestParseReport_Violations(t *testing.T) {
	min := MustReadTestdata(t, "report-minimal.xml")
	rich := MustReadTestdata(t, "report-rich.xml")
	edit := func(doc []byte, old, new string) []byte { return MustEdit(t, doc, old, new) }
	// person puts extra elements into the minimal report's reportingPerson.
	person := func(extra string) []byte { return edit(min, minimalPerson, minimalPerson+extra) }
	personEnd := func(extra string) []byte { return edit(min, "</reportingPerson>", extra+"</reportingPerson>") }
	long := func(n int) string { return strings.Repeat("é", n) }

	cases := []violation{
		// Missing, misplaced, repeated and unknown elements.
		{"missing required element", edit(min, minimalSummary, ""), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'internetDetails' at /report. One of '{batchedReport, incidentSummary}' is expected."},
		{"missing required element at end", edit(min, minimalReporter, ""), guardian.EMALFORMED,
			"cvc-complex-type.2.4.b: The content of element 'report' at /report is not complete. One of '{internetDetails, lawEnforcement, reporter}' is expected."},
		{"incomplete content", edit(min, "<incidentDateTime>2024-03-01T12:00:00Z</incidentDateTime>", ""), guardian.EMALFORMED,
			"cvc-complex-type.2.4.b: The content of element 'incidentSummary' at /report/incidentSummary is not complete. One of '{platform, escalateToHighPriority, reportAnnotations, incidentDateTime}' is expected."},
		{"missing required child of repeated element", edit(rich, "<victimPerson>\n      <firstName>Sam</firstName>\n      <lastName>Placeholder</lastName>\n      <age>14</age>\n    </victimPerson>", ""), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'espIdentifier' at /report/victim[1]. One of '{victimPerson}' is expected."},
		{"wrong order", edit(edit(min, minimalReporter, ""), minimalSummary, minimalReporter+minimalSummary), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'reporter' at /report. One of '{batchedReport, incidentSummary}' is expected."},
		{"wrong order in person", person("<email>a@example.com</email><phone>2025550100</phone>"), guardian.EMALFORMED,
			"~starting with element 'phone' at /report/reporter/reportingPerson. One of '{email, address, age, dateOfBirth}' is expected."},
		{"too many", edit(min, minimalSummary, minimalSummary+minimalSummary), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'incidentSummary' at /report. One of '{internetDetails, lawEnforcement, reporter}' is expected."},
		{"too many at end", edit(min, "</reporter>", "</reporter><additionalInfo>a</additionalInfo><additionalInfo>b</additionalInfo>"), guardian.EMALFORMED,
			"cvc-complex-type.2.4.d: Invalid content was found starting with element 'additionalInfo' at /report. No child element is expected at this point."},
		{"unknown element", person("<middleName>X</middleName>"), guardian.EMALFORMED,
			"~Invalid content was found starting with element 'middleName' at /report/reporter/reportingPerson."},
		{"empty choice", edit(min, "<webPageIncident>\n      <url>https://files.example.com/share/0000-synthetic</url>\n    </webPageIncident>", ""), guardian.EMALFORMED,
			"cvc-complex-type.2.4.b: The content of element 'internetDetails' at /report/internetDetails[1] is not complete. One of '{webPageIncident, emailIncident, newsgroupIncident, chatImIncident, onlineGamingIncident, cellPhoneIncident, nonInternetIncident, peer2peerIncident}' is expected."},
		{"two incidents in one internetDetails", edit(min, "</webPageIncident>", "</webPageIncident><chatImIncident/>"), guardian.EMALFORMED,
			"cvc-complex-type.2.4.d: Invalid content was found starting with element 'chatImIncident' at /report/internetDetails[1]. No child element is expected at this point."},
		{"2026 informational flag", edit(rich, "<csamSolicitation/>", "<csamSolicitation/><informational/>"), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'informational' at /report/incidentSummary/reportAnnotations. One of '{minorToMinorInteraction, spam, sadisticOnlineExploitation}' is expected."},
		{"2026 ageAssertionDiscrepancy", person("<age>30</age><ageAssertionDiscrepancy>true</ageAssertionDiscrepancy>"), guardian.EMALFORMED,
			"~starting with element 'ageAssertionDiscrepancy' at /report/reporter/reportingPerson. One of '{dateOfBirth}' is expected."},
		{"2026 accountType", edit(rich, `<associatedAccount type="Linked">`, `<associatedAccount accountType="Linked">`), guardian.EMALFORMED,
			"cvc-complex-type.3.2.2: Attribute 'accountType' is not allowed to appear in element 'associatedAccount' at /report/personOrUserReported[1]/associatedAccount[1]."},
		{"2026 fleaCountry on lawEnforcement", edit(rich, "<lawEnforcement>", `<lawEnforcement fleaCountry="CA">`), guardian.EMALFORMED,
			"cvc-complex-type.3.2.2: Attribute 'fleaCountry' is not allowed to appear in element 'lawEnforcement' at /report/lawEnforcement."},
		{"duplicate xs:all member", edit(rich, "<csamSolicitation/>", "<csamSolicitation/><sextortion/>"), guardian.EMALFORMED,
			"~starting with element 'sextortion' at /report/incidentSummary/reportAnnotations."},

		// Attributes.
		{"missing required attribute", edit(rich, `<associatedAccount type="Linked">`, `<associatedAccount>`), guardian.EMALFORMED,
			"cvc-complex-type.4: Attribute 'type' must appear on element 'associatedAccount' at /report/personOrUserReported[1]/associatedAccount[1]."},
		{"batchedReport without reason", edit(min, "<incidentSummary>", "<batchedReport/><incidentSummary>"), guardian.EMALFORMED,
			"cvc-complex-type.4: Attribute 'reason' must appear on element 'batchedReport' at /report/batchedReport."},
		{"text in empty content", edit(min, "<incidentSummary>", `<batchedReport reason="VIRAL_POTENTIAL_MEME"> </batchedReport><incidentSummary>`), guardian.EMALFORMED,
			"cvc-complex-type.2.1: Element 'batchedReport' at /report/batchedReport must have no character or element information item [children], because the type's content type is empty."},
		{"bad attribute enum", person(`<phone type="Cell">2025550100</phone>`), guardian.EMALFORMED,
			"cvc-enumeration-valid: Value 'Cell' at /report/reporter/reportingPerson/phone[1]/@type is not facet-valid with respect to enumeration '[Mobile, Home, Business, Work, Fax, Internet, Recovery]'. It must be a value from the enumeration."},
		{"bad pattern", person(`<phone countryCallingCode="1">2025550100</phone>`), guardian.EMALFORMED,
			`cvc-pattern-valid: Value '1' at /report/reporter/reportingPerson/phone[1]/@countryCallingCode is not facet-valid with respect to pattern '\+[0-9]{1,3}' for type 'countryCallingCode'.`},
		{"bad attribute boolean", person(`<email verified="yes">a@example.com</email>`), guardian.EMALFORMED,
			"cvc-datatype-valid.1.2.1: Value 'yes' at /report/reporter/reportingPerson/email[1]/@verified is not a valid value for 'boolean'."},
		{"bad attribute date", person(`<email verificationDate="2024-01-10">a@example.com</email>`), guardian.EMALFORMED,
			"~Value '2024-01-10' at /report/reporter/reportingPerson/email[1]/@verificationDate is not a valid value for 'dateTime'."},
		{"unknown attribute", edit(min, "<reporter>", `<reporter id="1">`), guardian.EMALFORMED,
			"cvc-complex-type.3.2.2: Attribute 'id' is not allowed to appear in element 'reporter' at /report/reporter."},
		{"attribute on simple type", edit(min, "<firstName>", `<firstName lang="en">`), guardian.EMALFORMED,
			"~Attribute 'lang' is not allowed to appear in element 'firstName'"},
		{"xml:lang", edit(min, "<firstName>", `<firstName xml:lang="en">`), guardian.EMALFORMED,
			"~Attribute '{http://www.w3.org/XML/1998/namespace}lang' is not allowed"},
		{"duplicate attribute", person(`<phone type="Home" type="Work">2025550100</phone>`), guardian.EMALFORMED,
			"Attribute 'type' was already specified for element 'phone' at /report/reporter/reportingPerson/phone[1]."},
		{"xsi:type", edit(min, "<reporter>", `<reporter xsi:type="x">`), guardian.EMALFORMED,
			"~Attribute 'xsi:type' is not allowed"},
		{"xsi:schemaLocation on root", edit(min, `xsi:noNamespaceSchemaLocation=`, `xsi:schemaLocation=`), guardian.EMALFORMED,
			"~Attribute 'xsi:schemaLocation' is not allowed to appear in element 'report' at /report"},
		{"xsi:noNamespaceSchemaLocation below root", edit(min, "<reporter>", `<reporter xsi:noNamespaceSchemaLocation="x">`), guardian.EMALFORMED,
			"~Attribute 'xsi:noNamespaceSchemaLocation' is not allowed to appear in element 'reporter'"},

		// Values.
		{"bad enum", edit(min, "Child Pornography (possession, manufacture, and distribution)", "Online Enticement of Children for Sexual Act"), guardian.EMALFORMED,
			"cvc-enumeration-valid: Value 'Online Enticement of Children for Sexual Act' at /report/incidentSummary/incidentType is not facet-valid with respect to enumeration '[Child Pornography (possession, manufacture, and distribution), Child Sex Trafficking, Child Sex Tourism, Child Sexual Molestation, Misleading Domain Name, Misleading Words or Digital Images on the Internet, Online Enticement of Children for Sexual Acts, Unsolicited Obscene Material Sent to a Child]'. It must be a value from the enumeration."},
		{"bad country", edit(rich, "<zipCode>00000</zipCode>\n        <state>IL</state>\n        <country>US</country>", "<zipCode>00000</zipCode>\n        <state>IL</state>\n        <country>USA</country>"), guardian.EMALFORMED,
			"cvc-enumeration-valid: Value 'USA' at /report/reporter/reportingPerson/address[1]/country is not facet-valid with respect to enumeration '[, A1, A2, O1, AD, AE, AF, AG, AI, AL, … (258 values of type 'country')]'. It must be a value from the enumeration."},
		{"bad date", edit(min, "2024-03-01T12:00:00Z", "2024-02-30T12:00:00Z"), guardian.EMALFORMED,
			"cvc-datatype-valid.1.2.1: Value '2024-02-30T12:00:00Z' at /report/incidentSummary/incidentDateTime is not a valid value for 'dateTime'."},
		{"date-time without T", edit(min, "2024-03-01T12:00:00Z", "2024-03-01 12:00:00"), guardian.EMALFORMED,
			"~is not a valid value for 'dateTime'."},
		{"padded date-time", edit(min, "2024-03-01T12:00:00Z", " 2024-03-01T12:00:00Z"), guardian.EMALFORMED,
			"~is not a valid value for 'dateTime'."},
		{"bad xs:date", person("<dateOfBirth>01/01/1990</dateOfBirth>"), guardian.EMALFORMED,
			"~is not a valid value for 'date'."},
		{"bad boolean", edit(rich, "<compromisedAccount>false</compromisedAccount>", "<compromisedAccount>no</compromisedAccount>"), guardian.EMALFORMED,
			"cvc-datatype-valid.1.2.1: Value 'no' at /report/personOrUserReported[1]/compromisedAccount is not a valid value for 'boolean'."},
		{"bad int", person("<age>thirty</age>"), guardian.EMALFORMED,
			"cvc-datatype-valid.1.2.1: Value 'thirty' at /report/reporter/reportingPerson/age is not a valid value for 'int'."},
		{"int overflow", person("<age>2147483648</age>"), guardian.EMALFORMED,
			"~Value '2147483648' at /report/reporter/reportingPerson/age is not a valid value for 'int'."},
		{"long overflow", edit(rich, "<priorCTReports>1000001</priorCTReports>", "<priorCTReports>9223372036854775808</priorCTReports>"), guardian.EMALFORMED,
			"~Value '9223372036854775808' at /report/personOrUserReported[1]/priorCTReports[1] is not a valid value for 'long'."},
		{"bad double", edit(rich, "<latitude>38.8977</latitude>", "<latitude>38,8977</latitude>"), guardian.EMALFORMED,
			"~is not a valid value for 'double'."},
		{"presence flag false", edit(rich, "<sextortion/>", "<sextortion>false</sextortion>"), guardian.EMALFORMED,
			"cvc-elt.5.2.2.2.2: The value 'false' of element 'sextortion' at /report/incidentSummary/reportAnnotations/sextortion does not match the {value constraint} value 'true'; send the element empty or with exactly 'true'."},
		{"presence flag 1", edit(rich, "<sextortion/>", "<sextortion>1</sextortion>"), guardian.EMALFORMED,
			"~The value '1' of element 'sextortion'"},
		{"presence flag not boolean", edit(rich, "<sextortion/>", "<sextortion>yes</sextortion>"), guardian.EMALFORMED,
			"~Value 'yes' at /report/incidentSummary/reportAnnotations/sextortion is not a valid value for 'boolean'."},
		{"element in simple type", edit(min, "<firstName>Jordan</firstName>", "<firstName><b>Jordan</b></firstName>"), guardian.EMALFORMED,
			"cvc-type.3.1.2: Element 'firstName' at /report/reporter/reportingPerson/firstName is a simple type, so it must have no element information item [children]; found element 'b'."},
		{"element in simple content", person("<phone>2025<b/>550100</phone>"), guardian.EMALFORMED,
			"~cvc-complex-type.2.2: Element 'phone' at /report/reporter/reportingPerson/phone[1] must have no element [children]"},
		{"text in element-only content", edit(min, "<reporter>", "<reporter>Example Inc."), guardian.EMALFORMED,
			"cvc-complex-type.2.3: Element 'reporter' at /report/reporter cannot have character [children], because the type's content type is element-only; found text 'Example Inc.'."},

		// Documented limits: valid against the NCMEC XSD, so 4100.
		{"limit: name length", edit(min, ">Jordan<", ">"+long(101)+"<"), guardian.EVALIDATION,
			"cvc-maxLength-valid: Value at /report/reporter/reportingPerson/firstName with length = '101' is not facet-valid with respect to maxLength '100' for type 'string100'."},
		{"limit: agency name", edit(rich, "Example County Sheriff Office", long(256)), guardian.EVALIDATION,
			"~maxLength '255' for type 'string255'"},
		{"limit: escalation", edit(rich, "Synthetic example: reported user proposed an in-person meeting.", long(3001)), guardian.EVALIDATION,
			"~length = '3001' is not facet-valid with respect to maxLength '3000'"},
		{"limit: age", personEnd("<age>151</age>"), guardian.EVALIDATION,
			"cvc-maxInclusive-valid: Value '151' at /report/reporter/reportingPerson/age is not facet-valid with respect to maxInclusive '150' for type 'age'."},
		{"limit: negative age", personEnd("<age>-1</age>"), guardian.EVALIDATION,
			"~minInclusive '0' for type 'age'"},
		{"limit: port", edit(rich, "<port>6881</port>", "<port>65536</port>"), guardian.EVALIDATION,
			"cvc-maxInclusive-valid: Value '65536' at /report/internetDetails[5]/peer2peerIncident/ipCaptureEvent[1]/port is not facet-valid with respect to maxInclusive '65535' for type 'port'."},
		{"limit: port zero", edit(rich, "<port>6881</port>", "<port>0</port>"), guardian.EVALIDATION,
			"~minInclusive '1' for type 'port'"},
		{"limit: extension", edit(rich, `extension="204"`, `extension="12345678901"`), guardian.EVALIDATION,
			"cvc-maxLength-valid: Value at /report/lawEnforcement/officerContact/phone[1]/@extension with length = '11' is not facet-valid with respect to maxLength '10' for type 'extension'."},
		{"limit: latitude", edit(rich, "<latitude>38.8977</latitude>", "<latitude>91</latitude>"), guardian.EVALIDATION,
			"~maxInclusive '90' for type 'latitude'"},
		{"limit: NaN longitude", edit(rich, "<longitude>-77.0365</longitude>", "<longitude>NaN</longitude>"), guardian.EVALIDATION,
			"~for type 'longitude'"},
		{"schema violation after a limit wins", person("<age>151</age>"), guardian.EMALFORMED,
			"~starting with element 'lastName' at /report/reporter/reportingPerson. One of '{dateOfBirth}' is expected."},
		{"schema violation wins over an earlier limit", edit(edit(min, ">Jordan<", ">"+long(101)+"<"), "</reporter>", "</reporter><bogus/>"), guardian.EMALFORMED,
			"~starting with element 'bogus' at /report"},

		// XML itself.
		{"namespaced element", person(`<x:nickname xmlns:x="urn:example">J</x:nickname>`), guardian.EMALFORMED,
			"Element 'nickname' at /report/reporter/reportingPerson is in namespace 'urn:example'; CyberTipline elements are in no namespace."},
		{"default namespace", edit(min, "<report ", `<report xmlns="urn:example" `), guardian.EMALFORMED,
			"cvc-elt.1.a: Cannot find the declaration of element '{urn:example}report': the document element must be 'report'."},
		{"DOCTYPE", edit(min, "<report ", "<!DOCTYPE report>\n<report "), guardian.EMALFORMED,
			"DOCTYPE and other markup declarations are not allowed: the document must be plain XML without a DTD or entity declarations."},
		{"entity expansion", edit(edit(min, "<report ", `<!DOCTYPE report [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><report `), ">Jordan<", ">&b;<"), guardian.EMALFORMED,
			"~DOCTYPE and other markup declarations are not allowed"},
		{"wrong root", MustReadTestdata(t, "filedetails.xml"), guardian.EMALFORMED,
			"cvc-elt.1.a: Cannot find the declaration of element 'fileDetails': the document element must be 'report'."},
		{"declared ISO-8859-1", edit(min, `encoding="UTF-8"`, `encoding="ISO-8859-1"`), guardian.EMALFORMED,
			`The document declares encoding 'ISO-8859-1'; Guardian accepts only UTF-8 (declared as "UTF-8" or not at all).`},
		{"declared UTF-16", edit(min, `encoding="UTF-8"`, `encoding='UTF-16'`), guardian.EMALFORMED,
			"~declares encoding 'UTF-16'"},
		{"UTF-16 byte-order mark", append([]byte{0xFF, 0xFE}, min...), guardian.EMALFORMED,
			"The document is encoded in UTF-16; Guardian accepts only UTF-8."},
		{"invalid UTF-8", edit(min, "Jordan", "Jord\xe9n"), guardian.EMALFORMED,
			"~The document is not well-formed XML (line 14): invalid UTF-8"},
		{"declaration not first", append([]byte("\n"), min...), guardian.EMALFORMED,
			"~the XML declaration must be at the very start of the document."},
		{"unescaped ampersand", edit(min, "Jordan", "Jordan & Co"), guardian.EMALFORMED,
			"~The document is not well-formed XML (line 14)"},
		{"mismatched tag", edit(min, "</firstName>", "</lastName>"), guardian.EMALFORMED,
			"~The document is not well-formed XML (line 14): element <firstName> closed by </lastName>"},
		{"truncated", min[:len(min)/2], guardian.EMALFORMED, "~unexpected EOF"},
		{"empty", nil, guardian.EMALFORMED, "Premature end of file: the document has no root element; 'report' is expected."},
		{"text before root", []byte("hello <report/>"), guardian.EMALFORMED,
			"Content is not allowed outside the root element: found text 'hello '."},
		{"second root", append(bytes.Clone(min), "<report/>"...), guardian.EMALFORMED,
			"~found a second root element 'report'."},
	}
	checkViolations(t, parseReportErr, cases)
}

func TestParseFileDetails_Violations(t *testing.T) {
	fd := MustReadTestdata(t, "filedetails.xml")
	edit := func(doc []byte, old, new string) []byte { return MustEdit(t, doc, old, new) }
	supplemental := edit(fd, "<fileRelevance>Reported</fileRelevance>", "<fileRelevance>Supplemental Reported</fileRelevance>")
	noClass := func(doc []byte) []byte { return edit(doc, "<industryClassification>B2</industryClassification>", "") }

	cases := []violation{
		{"industryClassification on supplemental file", supplemental, guardian.EVALIDATION,
			"industryClassification at /fileDetails/industryClassification is allowed only for a file whose fileRelevance is 'Reported', not 'Supplemental Reported'."},
		{"potentialMeme annotation on supplemental file", edit(noClass(supplemental), "<viral/>", "<potentialMeme/>"), guardian.EVALIDATION,
			"A potential-meme flag at /fileDetails/fileAnnotations/potentialMeme is allowed only for a file whose fileRelevance is 'Reported', not 'Supplemental Reported'."},
		{"potentialMeme element on supplemental file", edit(noClass(supplemental), "<fileAnnotations>\n    <viral/>\n    <generativeAi/>\n  </fileAnnotations>", "<potentialMeme>1</potentialMeme>"), guardian.EVALIDATION,
			"~A potential-meme flag at /fileDetails/potentialMeme is allowed only"},
		{"both sides of the choice", edit(fd, "<fileAnnotations>", "<potentialMeme>true</potentialMeme><fileAnnotations>"), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'fileAnnotations' at /fileDetails. One of '{industryClassification, originalFileHash, ipCaptureEvent, deviceId, details, additionalInfo}' is expected."},
		{"annotation false (CV)", edit(fd, "<viral/>", "<viral>false</viral>"), guardian.EMALFORMED,
			"~The value 'false' of element 'viral' at /fileDetails/fileAnnotations/viral does not match"},
		{"missing fileId", edit(fd, "<fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId>", ""), guardian.EMALFORMED,
			"cvc-complex-type.2.4.a: Invalid content was found starting with element 'originalFileName' at /fileDetails. One of '{fileId}' is expected."},
		{"bad reportId", edit(fd, "<reportId>1000042</reportId>", "<reportId>r-1000042</reportId>"), guardian.EMALFORMED,
			"cvc-datatype-valid.1.2.1: Value 'r-1000042' at /fileDetails/reportId is not a valid value for 'long'."},
		{"bad relevance", edit(fd, "<fileRelevance>Reported</fileRelevance>", "<fileRelevance>Supplemental</fileRelevance>"), guardian.EMALFORMED,
			"~Value 'Supplemental' at /fileDetails/fileRelevance is not facet-valid with respect to enumeration '[Reported, Supplemental Reported]'."},
		{"second ipCaptureEvent", edit(fd, "<deviceId>", "<ipCaptureEvent><ipAddress>192.0.2.1</ipAddress></ipCaptureEvent><deviceId>"), guardian.EMALFORMED,
			"~starting with element 'ipCaptureEvent' at /fileDetails. One of '{deviceId, details, additionalInfo}' is expected."},
		{"hash without hashType", edit(fd, `<originalFileHash hashType="MD5">`, `<originalFileHash>`), guardian.EMALFORMED,
			"cvc-complex-type.4: Attribute 'hashType' must appear on element 'originalFileHash' at /fileDetails/originalFileHash[1]."},
		{"details without pairs", edit(fd, `<details type="HASH">
    <nameValuePair>
      <name>ExamplePerceptualHash</name>
      <value>0000000000000000000000000000000000000000000000000000000000000000</value>
    </nameValuePair>
  </details>`, `<details type="HASH"></details>`), guardian.EMALFORMED,
			"cvc-complex-type.2.4.b: The content of element 'details' at /fileDetails/details[2] is not complete. One of '{nameValuePair}' is expected."},
		{"2026 type on nameValuePair", edit(fd, "<nameValuePair>\n      <name>Make", "<nameValuePair type=\"EXIF\">\n      <name>Make"), guardian.EMALFORMED,
			"cvc-complex-type.3.2.2: Attribute 'type' is not allowed to appear in element 'nameValuePair' at /fileDetails/details[1]/nameValuePair[1]."},
		{"limit: hashType", edit(fd, `hashType="MD5"`, `hashType="`+strings.Repeat("M", 65)+`"`), guardian.EVALIDATION,
			"cvc-maxLength-valid: Value at /fileDetails/originalFileHash[1]/@hashType with length = '65' is not facet-valid with respect to maxLength '64' for type 'string64'."},
		{"limit: originalFileName", edit(fd, "IMG_0001.jpg", strings.Repeat("x", 2057)), guardian.EVALIDATION,
			"~maxLength '2056'"},
		{"limit: pair name", edit(fd, "<name>Make</name>", "<name>"+strings.Repeat("x", 65)+"</name>"), guardian.EVALIDATION,
			"~at /fileDetails/details[1]/nameValuePair[1]/name with length = '65'"},
		{"wrong root", MustReadTestdata(t, "report-minimal.xml"), guardian.EMALFORMED,
			"cvc-elt.1.a: Cannot find the declaration of element 'report': the document element must be 'fileDetails'."},
	}
	checkViolations(t, parseFileDetailsErr, cases)
}

// TestParseFileDetails_Tolerated lists documents that are accepted on
// purpose; see the package documentation.
func TestParseFileDetails_Tolerated(t *testing.T) {
	fd := MustReadTestdata(t, "filedetails.xml")
	edit := func(doc []byte, old, new string) []byte { return MustEdit(t, doc, old, new) }
	cases := map[string][]byte{
		"exif viewed, file not":           edit(fd, "<fileViewedByEsp>true</fileViewedByEsp>", "<fileViewedByEsp>false</fileViewedByEsp>"),
		"supplemental without meme/class": edit(edit(edit(fd, "<fileRelevance>Reported</fileRelevance>", "<fileRelevance>Supplemental Reported</fileRelevance>"), "<industryClassification>B2</industryClassification>", ""), "<fileAnnotations>\n    <viral/>\n    <generativeAi/>\n  </fileAnnotations>", "<potentialMeme>false</potentialMeme>"),
		"absent relevance means Reported": edit(edit(fd, "<fileRelevance>Reported</fileRelevance>", ""), "<viral/>", "<potentialMeme/>"),
		"empty annotations":               edit(fd, "<fileAnnotations>\n    <viral/>\n    <generativeAi/>\n  </fileAnnotations>", "<fileAnnotations/>"),
		"annotations true, any order":     edit(fd, "<viral/>\n    <generativeAi/>", "<generativeAi>true</generativeAi><viral><!-- c --></viral>"),
		"padded token enum":               edit(fd, "<fileRelevance>Reported</fileRelevance>", "<fileRelevance>\n  Reported\n</fileRelevance>"),
		"padded boolean":                  edit(fd, "<publiclyAvailable>false</publiclyAvailable>", "<publiclyAvailable> 0 </publiclyAvailable>"),
		"CDATA and comments in text":      edit(fd, "<originalFileName>IMG_0001.jpg</originalFileName>", "<originalFileName>IMG_<![CDATA[0001]]><!-- x -->.jpg</originalFileName>"),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := ParseFileDetails(doc)
			if err != nil {
				t.Fatal(err)
			}
			assertFileDetailsRoundTrip(t, d)
		})
	}
	d, err := ParseFileDetails(cases["padded token enum"])
	if err != nil || d.FileRelevance != "Reported" || d.Relevance() != "Reported" {
		t.Errorf("padded enum decoded as %q (%v)", d.FileRelevance, err)
	}
	d, err = ParseFileDetails(cases["CDATA and comments in text"])
	if err != nil || d.OriginalFileName != "IMG_0001.jpg" {
		t.Errorf("text decoded as %q (%v)", d.OriginalFileName, err)
	}
	d, err = ParseFileDetails(cases["absent relevance means Reported"])
	if err != nil || !d.IsPotentialMeme() || d.Relevance() != guardian.RelevanceReported {
		t.Errorf("potential meme = %v, relevance %q (%v)", d.IsPotentialMeme(), d.Relevance(), err)
	}
}

// TestParseReport_Envelope covers the forms in which clients send the same
// document (reference §6.3 item 2).
func TestParseReport_Envelope(t *testing.T) {
	min := MustReadTestdata(t, "report-minimal.xml")
	const decl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	const xsi = ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd"`
	bare := MustEdit(t, MustEdit(t, min, decl, ""), xsi, "")
	compact := bytes.ReplaceAll(bytes.ReplaceAll(bare, []byte("\n"), nil), []byte("  "), nil)
	cases := map[string][]byte{
		"as in the reference":            min,
		"no declaration (GO)":            bare,
		"compact":                        compact,
		"single quotes, lower case (PY)": append([]byte("<?xml version='1.0' encoding='utf-8'?>\n"), bare...),
		"standalone (CV)":                append([]byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`), bare...),
		"version only":                   append([]byte(`<?xml version="1.0"?>`), bare...),
		"byte-order mark":                append([]byte("\xEF\xBB\xBF"), min...),
		"CRLF line ends":                 bytes.ReplaceAll(min, []byte("\n"), []byte("\r\n")),
		"comments and PIs":               append(append([]byte("<!-- before --><?app x?>"), bare...), "<!-- after -->\n"...),
		"other namespace declaration":    MustEdit(t, bare, "<report>", `<report xmlns:x="urn:example" xmlns="">`),
	}
	want, err := ParseReport(min)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseReport(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reporter.ReportingPerson.FirstName != want.Reporter.ReportingPerson.FirstName ||
				got.IncidentSummary.IncidentType != want.IncidentSummary.IncidentType {
				t.Errorf("decoded %+v", got)
			}
		})
	}
}

func TestParseReport_Bounds(t *testing.T) {
	min := MustReadTestdata(t, "report-minimal.xml")
	url := "<url>https://files.example.com/share/0000-synthetic</url>"

	t.Run("large free text accepted", func(t *testing.T) {
		text := strings.Repeat("synthetic transcript line\n", 40_000) // 1 MiB
		d, err := ParseReport(MustEdit(t, min, "</reporter>", "</reporter><additionalInfo>"+text+"</additionalInfo>"))
		if err != nil {
			t.Fatal(err)
		}
		if d.AdditionalInfo != text {
			t.Error("additionalInfo changed")
		}
	})
	t.Run("document too large", func(t *testing.T) {
		text := strings.Repeat("x", MaxDocumentSize)
		err := parseReportErr(MustEdit(t, min, "</reporter>", "</reporter><additionalInfo>"+text+"</additionalInfo>"))
		if got := errCode(t, err); got != guardian.EVALIDATION {
			t.Fatalf("code %q (%v)", got, err)
		}
		assertSafeMessage(t, guardian.ErrorMessage(err))
	})
	t.Run("huge value not echoed", func(t *testing.T) {
		huge := strings.Repeat("Z", 1<<20)
		for _, doc := range [][]byte{
			MustEdit(t, min, "Child Pornography (possession, manufacture, and distribution)", huge),
			MustEdit(t, min, ">Jordan<", ">"+huge+"<"),
			MustEdit(t, min, "<reporter>", "<reporter>"+huge),
			MustEdit(t, min, "<reporter>", "<reporter "+strings.Repeat("a", 1<<16)+`="1">`),
			MustEdit(t, min, "<reporter>", "<"+strings.Repeat("r", 1<<16)+">"),
		} {
			err := parseReportErr(doc)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := guardian.ErrorMessage(err)
			assertSafeMessage(t, msg)
			if strings.Contains(msg, strings.Repeat("Z", maxQuoted+1)) {
				t.Errorf("message echoes the value: %.200s", msg)
			}
		}
	})
	t.Run("too many elements", func(t *testing.T) {
		doc := MustEdit(t, min, url, strings.Repeat(url, MaxElements))
		err := parseReportErr(doc)
		if got := errCode(t, err); got != guardian.EVALIDATION {
			t.Fatalf("code %q (%v)", got, err)
		}
		if want := fmt.Sprintf("more than %d elements", MaxElements); !strings.Contains(guardian.ErrorMessage(err), want) {
			t.Errorf("message %q", guardian.ErrorMessage(err))
		}
	})
	t.Run("many elements accepted", func(t *testing.T) {
		d, err := ParseReport(MustEdit(t, min, url, strings.Repeat(url, MaxElements/2)))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(d.InternetDetails[0].WebPageIncident.URL); got != MaxElements/2 {
			t.Errorf("%d urls", got)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		const depth = 100_000
		doc := []byte(strings.Repeat("<report>", depth) + strings.Repeat("</report>", depth))
		err := parseReportErr(doc)
		if got := errCode(t, err); got != guardian.EMALFORMED {
			t.Fatalf("code %q (%v)", got, err)
		}
		if got, want := guardian.ErrorMessage(err), "cvc-complex-type.2.4.a: Invalid content was found starting with element 'report' at /report. One of '{batchedReport, incidentSummary}' is expected."; got != want {
			t.Errorf("message %q", got)
		}
	})
	t.Run("deep nesting in text", func(t *testing.T) {
		doc := MustEdit(t, min, ">Jordan<", ">"+strings.Repeat("<b>", 10_000)+"<")
		if got := errCode(t, parseReportErr(doc)); got != guardian.EMALFORMED {
			t.Fatalf("code %q", got)
		}
	})
}

func TestMessagesAreSafe(t *testing.T) {
	min := MustReadTestdata(t, "report-minimal.xml")
	for _, v := range []string{
		"\u202Eevil\u009B31m\u2028x\u0085",
		"&#9;tab&#10;line&#13;",
		strings.Repeat("ü", 200),
	} {
		err := parseReportErr(MustEdit(t, min, "Child Pornography (possession, manufacture, and distribution)", v))
		msg := guardian.ErrorMessage(err)
		assertSafeMessage(t, msg)
		if strings.ContainsAny(msg, "\u009b\u0085\u202e\u2028\t\n\r") {
			t.Errorf("raw control character in %q", msg)
		}
	}
	err := parseReportErr(MustEdit(t, min, "Child Pornography (possession, manufacture, and distribution)", "\u202Eevil\u009B"))
	if got, want := guardian.ErrorMessage(err), `Value '\u202Eevil\u009B' at`; !strings.Contains(got, want) {
		t.Errorf("message %q does not contain %q", got, want)
	}
	err = parseReportErr(MustEdit(t, min, "Child Pornography (possession, manufacture, and distribution)", strings.Repeat("ü", 200)))
	if got, want := guardian.ErrorMessage(err), "Value '"+strings.Repeat("ü", maxQuoted)+"…' at"; !strings.Contains(got, want) {
		t.Errorf("message %q does not contain %q", got, want)
	}
}
