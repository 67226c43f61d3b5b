package cybertip

import (
	"fmt"

	"github.com/guardian-network/guardian"
)

// ParseReport validates a <report> document, the body of /submit, and
// decodes it. The document is tokenized once: the validation walk records
// a canonical copy as tokens, and only that copy, once the whole document
// has been found valid, is decoded with encoding/xml.
//
// Errors are *guardian.Error: EMALFORMED when data is not well-formed XML,
// has another root element, or is not valid against the schema (see [XSD]);
// EVALIDATION when it exceeds a documented limit or a bound of this package
// ([MaxDocumentSize], [MaxElements]). Any other error is a bug.
func ParseReport(data []byte) (*guardian.ReportDocument, error) {
	canon, err := validate(data, eReport)
	if err != nil {
		return nil, err
	}
	var doc guardian.ReportDocument
	if err := decodeTokens(canon, &doc); err != nil {
		return nil, fmt.Errorf("decode validated report: %w", err)
	}
	return &doc, nil
}

// ParseFileDetails validates a <fileDetails> document, the body of
// /fileinfo, and decodes it. Errors are as for [ParseReport], plus
// EVALIDATION for the cross-field rule of the documentation: only a file
// whose relevance is "Reported" may carry an industryClassification or a
// potential-meme flag.
func ParseFileDetails(data []byte) (*guardian.FileDetails, error) {
	canon, err := validate(data, eFileDetails)
	if err != nil {
		return nil, err
	}
	var doc guardian.FileDetails
	if err := decodeTokens(canon, &doc); err != nil {
		return nil, fmt.Errorf("decode validated file details: %w", err)
	}
	if err := checkFileDetails(&doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

// checkFileDetails applies the cross-field rules of the documentation that
// a schema cannot state.
//
// The rule "fileViewedByEsp must be true when exifViewedByEsp is" is not
// applied: only one third-party client enforces it, nothing shows that
// NCMEC does, and it is not even plausible as a rule, since reviewing a
// file's EXIF data without viewing the file is a reasonable, and for the
// reviewer kinder, practice. Rejecting it would refuse honest reports.
func checkFileDetails(d *guardian.FileDetails) error {
	if d.Relevance() == guardian.RelevanceReported {
		return nil
	}
	if d.IndustryClassification != "" {
		return guardian.Errorf(guardian.EVALIDATION,
			"industryClassification at /fileDetails/industryClassification is allowed only for a file whose fileRelevance is 'Reported', not %s.",
			quote(d.FileRelevance))
	}
	if d.IsPotentialMeme() {
		at := "/fileDetails/potentialMeme"
		if d.PotentialMeme == nil {
			at = "/fileDetails/fileAnnotations/potentialMeme"
		}
		return guardian.Errorf(guardian.EVALIDATION,
			"A potential-meme flag at %s is allowed only for a file whose fileRelevance is 'Reported', not %s.",
			at, quote(d.FileRelevance))
	}
	return nil
}
