package triage_test

import (
	"fmt"
	"os"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

func Example() {
	b, err := os.ReadFile("../cybertip/testdata/report-rich.xml")
	if err != nil {
		panic(err)
	}
	doc, err := cybertip.ParseReport(b)
	if err != nil {
		panic(err)
	}
	var files []*guardian.FileDetails // details of the report's files, if any

	a := triage.Resolve(doc, files, geo.Embedded())
	for _, c := range a.Countries {
		fmt.Printf("%s score %.3f, evidence %d\n", c.Country, c.Score, len(c.Evidence))
	}
	fmt.Println("confidence", a.Confidence)

	t := triage.Assess(doc, files, a)
	fmt.Println("priority", t.Priority, "after review", t.ReviewPriority, "label", t.Label, "analyst", t.NeedsAnalyst)
	// Output:
	// US score 0.893, evidence 6
	// CA score 0.107, evidence 1
	// confidence 0.661
	// priority 1 after review 1 label referral analyst true
}
