package cybertip

import "testing"

func BenchmarkParseReport(b *testing.B) {
	data := MustReadTestdata(b, "report-rich.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReport(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReportMinimal(b *testing.B) {
	data := MustReadTestdata(b, "report-minimal.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReport(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFileDetails(b *testing.B) {
	data := MustReadTestdata(b, "filedetails.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFileDetails(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateReport(b *testing.B) {
	data := MustReadTestdata(b, "report-rich.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := validate(data, eReport); err != nil {
			b.Fatal(err)
		}
	}
}
