package cybertip

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"testing"

	"github.com/guardian-network/guardian"
)

// fuzzSeeds are small documents that reach the corners of the walk:
// declarations, DTDs, namespaces, flags, simple content, limits.
var fuzzSeeds = []string{
	``,
	`<report/>`,
	`<?xml version='1.0' encoding='utf-8'?><report><incidentSummary><incidentType>Child Sex Tourism</incidentType><reportAnnotations><spam>true</spam><sextortion/></reportAnnotations><incidentDateTime>2024-01-01T24:00:00Z</incidentDateTime></incidentSummary><reporter><reportingPerson><age>+007</age></reportingPerson></reporter></report>`,
	`<!DOCTYPE report [<!ENTITY a "b">]><report>&a;</report>`,
	`<report xmlns="urn:x"/>`,
	`<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x"/>`,
	`<fileDetails><reportId>1</reportId><fileId> a </fileId><fileRelevance>Supplemental Reported</fileRelevance><potentialMeme>1</potentialMeme></fileDetails>`,
	`<fileDetails><reportId>-0</reportId><fileId/><fileAnnotations><infant/></fileAnnotations><originalFileHash hashType="">x</originalFileHash><details><nameValuePair><name/><value/></nameValuePair></details></fileDetails>`,
}

func FuzzParseReport(f *testing.F) {
	f.Add(MustReadTestdata(f, "report-minimal.xml"))
	f.Add(MustReadTestdata(f, "report-rich.xml"))
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseReport(data)
		if err != nil {
			assertRefusal(t, err)
			return
		}
		assertCanonical(t, data, eReport, d)
		assertReportRoundTrip(t, d)
	})
}

func FuzzParseFileDetails(f *testing.F) {
	f.Add(MustReadTestdata(f, "filedetails.xml"))
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseFileDetails(data)
		if err != nil {
			assertRefusal(t, err)
			return
		}
		assertCanonical(t, data, eFileDetails, d)
		assertFileDetailsRoundTrip(t, d)
	})
}

// assertRefusal checks that a refusal is one a client can be told about.
func assertRefusal(t *testing.T, err error) {
	t.Helper()
	if code := errCode(t, err); code != guardian.EMALFORMED && code != guardian.EVALIDATION {
		t.Fatalf("refused with code %q: %v", code, err)
	}
	assertSafeMessage(t, guardian.ErrorMessage(err))
}

// assertCanonical checks that the canonical copy of an accepted document,
// the token stream actually decoded, is itself valid and canonical once
// serialized, and that decoding it as tokens gives decoded, the document
// parsed from data, just as xml.Unmarshal of its serialization does.
func assertCanonical(t *testing.T, data []byte, root *element, decoded any) {
	t.Helper()
	canon, err := validateBytes(t, data, root)
	if err != nil {
		t.Fatalf("accepted document does not validate: %v", err)
	}
	unmarshalled := reflect.New(reflect.TypeOf(decoded).Elem()).Interface()
	if err := xml.Unmarshal(canon, unmarshalled); err != nil {
		t.Fatalf("canonical copy does not unmarshal: %v\n%s", err, canon)
	}
	if !reflect.DeepEqual(decoded, unmarshalled) {
		t.Fatalf("decoding the tokens and unmarshalling their serialization differ:\n%#v\n%#v", decoded, unmarshalled)
	}
	again, err := validateBytes(t, canon, root)
	if err != nil {
		t.Fatalf("canonical copy does not validate: %v\n%s", err, canon)
	}
	if !bytes.Equal(canon, again) {
		t.Fatalf("canonical copy is not canonical:\n%s\n%s", canon, again)
	}
}
