package cybertip_test

import (
	"fmt"

	"github.com/guardian-network/guardian/cybertip"
)

func ExampleParseReport() {
	_, err := cybertip.ParseReport([]byte(`<report><reporter/></report>`))
	code, description := cybertip.ResponseCode(err)
	fmt.Printf("%s\n", cybertip.Response{Code: code, Description: description}.Bytes())
	// Output:
	// <?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>4110</responseCode><responseDescription>Malformed XML submittal - cvc-complex-type.2.4.a: Invalid content was found starting with element 'reporter' at /report. One of '{batchedReport, incidentSummary}' is expected.</responseDescription></reportResponse>
}

func ExampleDoneResponse() {
	fmt.Printf("%s\n", cybertip.DoneResponse{ReportID: 1000042, FileIDs: []string{"c0ffee00d15ea5e0ab12cd34ef56a789"}}.Bytes())
	fmt.Printf("%s\n", cybertip.DoneResponse{Code: cybertip.CodeReportFinished, Description: "Report already finished", ReportID: 1000042}.Bytes())
	// Output:
	// <?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>0</responseCode><reportId>1000042</reportId><files><fileId>c0ffee00d15ea5e0ab12cd34ef56a789</fileId></files></reportDoneResponse>
	// <?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>5102</responseCode><reportId>1000042</reportId><files/><responseDescription>Report already finished</responseDescription></reportDoneResponse>
}
