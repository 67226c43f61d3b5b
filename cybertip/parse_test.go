package cybertip

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func ptr[T any](v T) *T { return &v }

func mustDateTime(tb testing.TB, s string) guardian.DateTime {
	tb.Helper()
	dt, err := guardian.ParseDateTime(s)
	if err != nil {
		tb.Fatal(err)
	}
	return dt
}

func TestParseReport_Minimal(t *testing.T) {
	got, err := ParseReport(MustReadTestdata(t, "report-minimal.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &guardian.ReportDocument{
		XMLName: xml.Name{Local: "report"},
		IncidentSummary: guardian.IncidentSummary{
			IncidentType:     "Child Pornography (possession, manufacture, and distribution)",
			IncidentDateTime: mustDateTime(t, "2024-03-01T12:00:00Z"),
		},
		InternetDetails: []guardian.InternetDetails{{
			WebPageIncident: &guardian.WebPageIncident{URL: []string{"https://files.example.com/share/0000-synthetic"}},
		}},
		Reporter: guardian.ReporterDetails{ReportingPerson: guardian.Person{
			FirstName: "Jordan",
			LastName:  "Example",
			Email:     []guardian.Email{{Value: "trust-safety@example.com"}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if dt := got.IncidentSummary.IncidentDateTime; !dt.Zoned || !dt.Time.Equal(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("incidentDateTime = %+v", dt)
	}
}

func TestParseReport_Rich(t *testing.T) {
	d, err := ParseReport(MustReadTestdata(t, "report-rich.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := d.IncidentSummary
	if got, want := s.IncidentType, "Online Enticement of Children for Sexual Acts"; got != want {
		t.Errorf("incidentType = %q, want %q", got, want)
	}
	if got, want := *s.ReportAnnotations, (guardian.ReportAnnotations{Sextortion: true, CSAMSolicitation: true}); got != want {
		t.Errorf("reportAnnotations = %+v, want %+v", got, want)
	}
	if got, want := s.IncidentDateTime.Time, time.Date(2024, 5, 6, 18, 30, 0, 0, time.UTC); !got.Equal(want) || !s.IncidentDateTime.Zoned {
		t.Errorf("incidentDateTime = %v, want %v", got, want)
	}
	if got, want := s.IncidentDateTime.Lexical, "2024-05-06T14:30:00-04:00"; got != want {
		t.Errorf("incidentDateTime lexical = %q, want %q", got, want)
	}

	if got, want := len(d.InternetDetails), 5; got != want {
		t.Fatalf("%d internetDetails, want %d", got, want)
	}
	web := d.InternetDetails[0].WebPageIncident
	if web == nil || web.ThirdPartyHostedContent == nil || *web.ThirdPartyHostedContent || len(web.URL) != 2 {
		t.Errorf("webPageIncident = %+v", web)
	}
	if chat := d.InternetDetails[1].ChatIMIncident; chat == nil || chat.ChatRoomName != "direct-message-000001" {
		t.Errorf("chatImIncident = %+v", chat)
	}
	email := d.InternetDetails[2].EmailIncident.EmailAddress[0]
	if got, want := email, (guardian.Email{Value: "fake.user@example.org", Type: "Home", Verified: ptr(true),
		VerificationDate: ptr(mustDateTime(t, "2024-01-10T09:00:00Z"))}); !reflect.DeepEqual(got, want) {
		t.Errorf("emailAddress = %+v, want %+v", got, want)
	}
	cell := d.InternetDetails[3].CellPhoneIncident
	if got, want := *cell.PhoneNumber, (guardian.Phone{Value: "2025550143", Type: "Mobile", Verified: ptr(false), CountryCallingCode: "+1"}); !reflect.DeepEqual(got, want) {
		t.Errorf("phoneNumber = %+v, want %+v", got, want)
	}
	if *cell.Latitude != 38.8977 || *cell.Longitude != -77.0365 {
		t.Errorf("latitude, longitude = %v, %v", *cell.Latitude, *cell.Longitude)
	}
	p2p := d.InternetDetails[4].Peer2PeerIncident
	if got, want := p2p.IPCaptureEvent[0], (guardian.IPCaptureEvent{IPAddress: "198.51.100.7", EventName: "Upload",
		DateTime: ptr(mustDateTime(t, "2024-05-05T22:10:00Z")), Port: ptr(6881)}); !reflect.DeepEqual(got, want) {
		t.Errorf("p2p ipCaptureEvent = %+v, want %+v", got, want)
	}

	le := d.LawEnforcement
	if le.AgencyName != "Example County Sheriff Office" || *le.ReportedToLE != true || *le.ServedLegalProcessDomestic != false {
		t.Errorf("lawEnforcement = %+v", le)
	}
	if got, want := *le.ServedLegalProcessInternational, (guardian.ServedLegalProcessInternational{Value: true, FleaCountry: "CA"}); got != want {
		t.Errorf("servedLegalProcessInternational = %+v, want %+v", got, want)
	}
	if got := le.OfficerContact.Phone[0].Extension; got != "204" {
		t.Errorf("officer extension = %q", got)
	}

	rp := d.Reporter.ReportingPerson
	if got, want := rp.Address[0], (guardian.Address{Type: "Business", Address: "100 Example Street", City: "Springfield",
		ZipCode: "00000", State: "IL", Country: "US"}); got != want {
		t.Errorf("reporter address = %+v, want %+v", got, want)
	}
	if d.Reporter.LegalURL != "https://www.example.com/legal/law-enforcement" || d.Reporter.ContactPerson.Email[0].Value != "legal@example.com" {
		t.Errorf("reporter = %+v", d.Reporter)
	}

	if len(d.PersonOrUserReported) != 1 {
		t.Fatalf("%d personOrUserReported", len(d.PersonOrUserReported))
	}
	u := d.PersonOrUserReported[0]
	if *u.PersonOrUserReportedPerson.Age != 34 || u.PersonOrUserReportedPerson.DateOfBirth.Lexical != "1990-01-01" ||
		!u.PersonOrUserReportedPerson.DateOfBirth.Time.Equal(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("reported person = %+v", u.PersonOrUserReportedPerson)
	}
	if len(u.PersonOrUserReportedPerson.Email) != 2 || u.PersonOrUserReportedPerson.Email[1].Type != "Recovery" {
		t.Errorf("reported person emails = %+v", u.PersonOrUserReportedPerson.Email)
	}
	if got, want := u.PriorCTReports, []int64{1000001, 1000002}; !reflect.DeepEqual(got, want) {
		t.Errorf("priorCTReports = %v, want %v", got, want)
	}
	if got := u.IPCaptureEvent[1]; got.IPAddress != "2001:db8::10" || !*got.PossibleProxy || *got.Port != 51515 {
		t.Errorf("ipCaptureEvent[2] = %+v", got)
	}
	if got := u.DeviceID[0]; got.IDType != "IMEI" || got.IDValue != "000000000000001" || got.EventName != "Login" {
		t.Errorf("deviceId = %+v", got)
	}
	if got := u.AccountTemporarilyDisabled; !got.Value || *got.UserNotified || got.ReenabledDate.Lexical != "2024-05-06T20:00:00Z" || got.UserNotifiedDate != nil {
		t.Errorf("accountTemporarilyDisabled = %+v", got)
	}
	if got := u.AccountPermanentlyDisabled; !got.Value || !*got.UserNotified || got.UserNotifiedDate.Lexical != "2024-05-07T12:05:00Z" {
		t.Errorf("accountPermanentlyDisabled = %+v", got)
	}
	if got := u.EstimatedLocation; *got.Verified || got.Timestamp.Lexical != "2024-05-06T18:00:00Z" || got.City != "Springfield" || got.CountryCode != "US" {
		t.Errorf("estimatedLocation = %+v", got)
	}
	aa := u.AssociatedAccount[0]
	if aa.Type != "Linked" || aa.Platform.Value != "Example Photo Sharing" || !*aa.Platform.ThirdPartyUser ||
		*aa.ApproximateAge != 30 || aa.PriorCTReport[0] != 1000003 || aa.IPCaptureEvent[0].EventName != "Other" {
		t.Errorf("associatedAccount = %+v", aa)
	}

	ir := d.IntendedRecipient[0]
	if ir.IntendedRecipientPerson.FirstName != "Sam" || len(ir.AdditionalInfo) != 1 || ir.EstimatedLocation.CountryCode != "US" {
		t.Errorf("intendedRecipient = %+v", ir)
	}
	v := d.Victim[0]
	if *v.VictimPerson.Age != 14 || v.SchoolName != "Example Middle School" || v.EstimatedLocation.Region != "IL" {
		t.Errorf("victim = %+v", v)
	}
	if d.AdditionalInfo == "" {
		t.Error("report additionalInfo missing")
	}
}

func TestParseFileDetails_Example(t *testing.T) {
	got, err := ParseFileDetails(MustReadTestdata(t, "filedetails.xml"))
	if err != nil {
		t.Fatal(err)
	}
	upload := mustDateTime(t, "2024-05-06T18:04:58Z")
	want := &guardian.FileDetails{
		XMLName:                xml.Name{Local: "fileDetails"},
		ReportID:               1000042,
		FileID:                 "c0ffee00d15ea5e0ab12cd34ef56a789",
		OriginalFileName:       "IMG_0001.jpg",
		UploadedToESPTimestamp: ptr(mustDateTime(t, "2024-05-06T18:05:00Z")),
		LocationOfFile:         "https://cdn.example.com/media/000001.jpg",
		FileViewedByESP:        ptr(true),
		ExifViewedByESP:        ptr(true),
		PubliclyAvailable:      ptr(false),
		FileRelevance:          "Reported",
		FileAnnotations:        &guardian.FileAnnotations{Viral: true, GenerativeAI: true},
		IndustryClassification: "B2",
		OriginalFileHash: []guardian.FileHash{
			{Value: "4608a4ee9a371b7e28c9e48a3385e52f", HashType: "MD5"},
			{Value: "f829edcd742f7235e3eda3d719a7207ca9bc060a", HashType: "SHA1"},
			{Value: "261fb79f9e6b705e21120bcadbe330e08ffc5ed20e6cfed9592598fe6ae9d6f4", HashType: "SHA256"},
		},
		IPCaptureEvent: &guardian.IPCaptureEvent{IPAddress: "198.51.100.23", EventName: "Upload",
			DateTime: ptr(upload), PossibleProxy: ptr(false), Port: ptr(443)},
		DeviceID: []guardian.DeviceID{{IDType: "ICCID", IDValue: "8900000000000000001", EventName: "Upload", DateTime: ptr(upload)}},
		Details: []guardian.FileMetadata{
			{Type: "EXIF", NameValuePair: []guardian.NameValuePair{{Name: "Make", Value: "ExampleCam"}, {Name: "Model", Value: "EC-1"}}},
			{Type: "HASH", NameValuePair: []guardian.NameValuePair{{Name: "ExamplePerceptualHash", Value: "0000000000000000000000000000000000000000000000000000000000000000"}}},
		},
		AdditionalInfo: []string{
			"Synthetic example. The hashes are of a short synthetic text file.",
			"A second additionalInfo element is allowed here.",
		},
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
	if got.Relevance() != guardian.RelevanceReported || got.IsPotentialMeme() {
		t.Errorf("Relevance() = %q, IsPotentialMeme() = %v", got.Relevance(), got.IsPotentialMeme())
	}
}

// TestRoundTrip checks that the Go types cover the schema: a decoded
// document, marshalled by encoding/xml from the struct tags alone, is valid
// and decodes to the same value. A field missing from a type, or a tag out
// of schema order, breaks it.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"report-minimal.xml", "report-rich.xml"} {
		t.Run(name, func(t *testing.T) {
			d, err := ParseReport(MustReadTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			assertReportRoundTrip(t, d)
		})
	}
	t.Run("filedetails.xml", func(t *testing.T) {
		d, err := ParseFileDetails(MustReadTestdata(t, "filedetails.xml"))
		if err != nil {
			t.Fatal(err)
		}
		assertFileDetailsRoundTrip(t, d)
	})
}

func assertReportRoundTrip(tb testing.TB, d *guardian.ReportDocument) {
	tb.Helper()
	b, err := xml.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	d2, err := ParseReport(b)
	if err != nil {
		tb.Fatalf("re-parse of marshalled report: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(d, d2) {
		tb.Fatalf("round trip changed the report:\n%+v\n%+v", d, d2)
	}
	assertJSONRoundTrip(tb, d, &guardian.ReportDocument{XMLName: d.XMLName})
}

func assertFileDetailsRoundTrip(tb testing.TB, d *guardian.FileDetails) {
	tb.Helper()
	b, err := xml.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	d2, err := ParseFileDetails(b)
	if err != nil {
		tb.Fatalf("re-parse of marshalled file details: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(d, d2) {
		tb.Fatalf("round trip changed the file details:\n%+v\n%+v", d, d2)
	}
	assertJSONRoundTrip(tb, d, &guardian.FileDetails{XMLName: d.XMLName})
}

// assertJSONRoundTrip checks that the JSON the stores keep decodes to the
// same document, date-times included.
func assertJSONRoundTrip[T any](tb testing.TB, d, empty *T) {
	tb.Helper()
	j, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(j, empty); err != nil {
		tb.Fatal(err)
	}
	if !reflect.DeepEqual(d, empty) {
		tb.Fatalf("JSON round trip changed the document:\n%s", j)
	}
}

// TestParseConcurrent parses in parallel: the canonical token streams share
// the tags boxed once per declaration, which neither the walk nor the
// decoder may write to (go test -race).
func TestParseConcurrent(t *testing.T) {
	rich := MustReadTestdata(t, "report-rich.xml")
	details := MustReadTestdata(t, "filedetails.xml")
	wantReport, err := ParseReport(rich)
	if err != nil {
		t.Fatal(err)
	}
	wantDetails, err := ParseFileDetails(details)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				r, err := ParseReport(rich)
				if err != nil || !reflect.DeepEqual(r, wantReport) {
					t.Errorf("concurrent ParseReport: %v, or a different document", err)
					return
				}
				d, err := ParseFileDetails(details)
				if err != nil || !reflect.DeepEqual(d, wantDetails) {
					t.Errorf("concurrent ParseFileDetails: %v, or a different document", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
