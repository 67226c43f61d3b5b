package guardian

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The types below mirror the CyberTipline <report> and <fileDetails>
// documents element by element (2025-11 schema vocabulary). Package cybertip
// validates a document against the schema before it decodes into them, so
// code that reads them may assume every value is schema-valid: enumerated
// strings hold one of their values, required elements are present, and so on.
//
// Field conventions, chosen so that absence can be told from a zero value
// where that matters to later stages:
//
//   - optional strings are string ("" when absent or empty: the schema gives
//     the two no different meaning);
//   - optional booleans, numbers and date-times are pointers (nil when absent);
//   - repeatable elements are slices in document order;
//   - presence flags (reportAnnotations, fileAnnotations) are bool;
//   - text of an element that also has attributes is the field Value.
//
// XML tags make encoding/xml produce a document in schema order, and JSON
// tags use the element and attribute names, so the stored JSON reads like
// the XML it came from.

// ReportDocument is the <report> document a reporter sends to /submit.
type ReportDocument struct {
	XMLName              xml.Name               `xml:"report" json:"-"`
	BatchedReport        *BatchedReport         `xml:"batchedReport,omitempty" json:"batchedReport,omitempty"`
	IncidentSummary      IncidentSummary        `xml:"incidentSummary" json:"incidentSummary"`
	InternetDetails      []InternetDetails      `xml:"internetDetails" json:"internetDetails,omitempty"`
	LawEnforcement       *LawEnforcement        `xml:"lawEnforcement,omitempty" json:"lawEnforcement,omitempty"`
	Reporter             ReporterDetails        `xml:"reporter" json:"reporter"`
	PersonOrUserReported []PersonOrUserReported `xml:"personOrUserReported" json:"personOrUserReported,omitempty"`
	IntendedRecipient    []IntendedRecipient    `xml:"intendedRecipient" json:"intendedRecipient,omitempty"`
	Victim               []Victim               `xml:"victim" json:"victim,omitempty"`
	AdditionalInfo       string                 `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// BatchedReport marks a report as a batch of otherwise individual reports
// grouped for Reason (the only schema value is "VIRAL_POTENTIAL_MEME").
type BatchedReport struct {
	Reason string `xml:"reason,attr" json:"reason"`
}

// IncidentSummary is the general information about the incident.
type IncidentSummary struct {
	// IncidentType is one of the eight schema values, e.g. "Child Sex
	// Trafficking".
	IncidentType                string             `xml:"incidentType" json:"incidentType"`
	Platform                    string             `xml:"platform,omitempty" json:"platform,omitempty"`
	EscalateToHighPriority      string             `xml:"escalateToHighPriority,omitempty" json:"escalateToHighPriority,omitempty"`
	ReportAnnotations           *ReportAnnotations `xml:"reportAnnotations,omitempty" json:"reportAnnotations,omitempty"`
	IncidentDateTime            DateTime           `xml:"incidentDateTime" json:"incidentDateTime"`
	IncidentDateTimeDescription string             `xml:"incidentDateTimeDescription,omitempty" json:"incidentDateTimeDescription,omitempty"`
}

// ReportAnnotations are the reporter's tags for the incident. Each is a
// presence flag: true when the element was sent.
type ReportAnnotations struct {
	Sextortion                 bool `xml:"sextortion,omitempty" json:"sextortion,omitempty"`
	CSAMSolicitation           bool `xml:"csamSolicitation,omitempty" json:"csamSolicitation,omitempty"`
	MinorToMinorInteraction    bool `xml:"minorToMinorInteraction,omitempty" json:"minorToMinorInteraction,omitempty"`
	Spam                       bool `xml:"spam,omitempty" json:"spam,omitempty"`
	SadisticOnlineExploitation bool `xml:"sadisticOnlineExploitation,omitempty" json:"sadisticOnlineExploitation,omitempty"`
}

// InternetDetails describes one place the incident happened. Exactly one of
// its fields is set.
type InternetDetails struct {
	WebPageIncident      *WebPageIncident      `xml:"webPageIncident,omitempty" json:"webPageIncident,omitempty"`
	EmailIncident        *EmailIncident        `xml:"emailIncident,omitempty" json:"emailIncident,omitempty"`
	NewsgroupIncident    *NewsgroupIncident    `xml:"newsgroupIncident,omitempty" json:"newsgroupIncident,omitempty"`
	ChatIMIncident       *ChatIMIncident       `xml:"chatImIncident,omitempty" json:"chatImIncident,omitempty"`
	OnlineGamingIncident *OnlineGamingIncident `xml:"onlineGamingIncident,omitempty" json:"onlineGamingIncident,omitempty"`
	CellPhoneIncident    *CellPhoneIncident    `xml:"cellPhoneIncident,omitempty" json:"cellPhoneIncident,omitempty"`
	NonInternetIncident  *NonInternetIncident  `xml:"nonInternetIncident,omitempty" json:"nonInternetIncident,omitempty"`
	Peer2PeerIncident    *Peer2PeerIncident    `xml:"peer2peerIncident,omitempty" json:"peer2peerIncident,omitempty"`
}

// WebPageIncident is an incident on web pages.
type WebPageIncident struct {
	// ThirdPartyHostedContent says the URLs are hosted by another company and
	// the reporter knows nothing more.
	ThirdPartyHostedContent *bool    `xml:"thirdPartyHostedContent,attr,omitempty" json:"thirdPartyHostedContent,omitempty"`
	URL                     []string `xml:"url" json:"url,omitempty"`
	AdditionalInfo          string   `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// EmailIncident is an incident by e-mail.
type EmailIncident struct {
	EmailAddress   []Email `xml:"emailAddress" json:"emailAddress,omitempty"`
	Content        string  `xml:"content,omitempty" json:"content,omitempty"`
	AdditionalInfo string  `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// NewsgroupIncident is an incident in a newsgroup.
type NewsgroupIncident struct {
	Name           string  `xml:"name,omitempty" json:"name,omitempty"`
	EmailAddress   []Email `xml:"emailAddress" json:"emailAddress,omitempty"`
	Content        string  `xml:"content,omitempty" json:"content,omitempty"`
	AdditionalInfo string  `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// ChatIMIncident is an incident in a chat or instant-messaging session.
type ChatIMIncident struct {
	ChatClient     string `xml:"chatClient,omitempty" json:"chatClient,omitempty"`
	ChatRoomName   string `xml:"chatRoomName,omitempty" json:"chatRoomName,omitempty"`
	Content        string `xml:"content,omitempty" json:"content,omitempty"`
	AdditionalInfo string `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// OnlineGamingIncident is an incident during an online game.
type OnlineGamingIncident struct {
	GameName       string `xml:"gameName,omitempty" json:"gameName,omitempty"`
	Console        string `xml:"console,omitempty" json:"console,omitempty"`
	Content        string `xml:"content,omitempty" json:"content,omitempty"`
	AdditionalInfo string `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// CellPhoneIncident is an incident mainly by cell phone. Latitude is
// positive north, Longitude positive east.
type CellPhoneIncident struct {
	PhoneNumber    *Phone   `xml:"phoneNumber,omitempty" json:"phoneNumber,omitempty"`
	Latitude       *float64 `xml:"latitude,omitempty" json:"latitude,omitempty"`
	Longitude      *float64 `xml:"longitude,omitempty" json:"longitude,omitempty"`
	AdditionalInfo string   `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// NonInternetIncident is an incident without an online, computer or
// cell-phone component.
type NonInternetIncident struct {
	LocationName    string    `xml:"locationName,omitempty" json:"locationName,omitempty"`
	IncidentAddress []Address `xml:"incidentAddress" json:"incidentAddress,omitempty"`
	AdditionalInfo  string    `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// Peer2PeerIncident is an incident on a peer-to-peer network.
type Peer2PeerIncident struct {
	Client         string           `xml:"client,omitempty" json:"client,omitempty"`
	IPCaptureEvent []IPCaptureEvent `xml:"ipCaptureEvent" json:"ipCaptureEvent,omitempty"`
	FileNames      string           `xml:"fileNames,omitempty" json:"fileNames,omitempty"`
	AdditionalInfo string           `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// LawEnforcement is the law-enforcement contact when the incident was
// already reported to, or the request came from, law enforcement.
type LawEnforcement struct {
	AgencyName                      string                           `xml:"agencyName" json:"agencyName"`
	CaseNumber                      string                           `xml:"caseNumber,omitempty" json:"caseNumber,omitempty"`
	OfficerContact                  *ContactPerson                   `xml:"officerContact,omitempty" json:"officerContact,omitempty"`
	ReportedToLE                    *bool                            `xml:"reportedToLe,omitempty" json:"reportedToLe,omitempty"`
	ServedLegalProcessDomestic      *bool                            `xml:"servedLegalProcessDomestic,omitempty" json:"servedLegalProcessDomestic,omitempty"`
	ServedLegalProcessInternational *ServedLegalProcessInternational `xml:"servedLegalProcessInternational,omitempty" json:"servedLegalProcessInternational,omitempty"`
}

// ServedLegalProcessInternational says whether foreign law enforcement
// served legal process, and from which country (FleaCountry, a country code).
type ServedLegalProcessInternational struct {
	Value       bool   `xml:",chardata" json:"value"`
	FleaCountry string `xml:"fleaCountry,attr,omitempty" json:"fleaCountry,omitempty"`
}

// ReporterDetails is the <reporter> element: the person and company making
// the report. (The name avoids a clash with [Reporter], the API account.)
type ReporterDetails struct {
	ReportingPerson Person         `xml:"reportingPerson" json:"reportingPerson"`
	ContactPerson   *ContactPerson `xml:"contactPerson,omitempty" json:"contactPerson,omitempty"`
	CompanyTemplate string         `xml:"companyTemplate,omitempty" json:"companyTemplate,omitempty"`
	TermsOfService  string         `xml:"termsOfService,omitempty" json:"termsOfService,omitempty"`
	LegalURL        string         `xml:"legalURL,omitempty" json:"legalURL,omitempty"`
}

// PersonOrUserReported is the reported person or user (the suspect).
type PersonOrUserReported struct {
	PersonOrUserReportedPerson *Person                     `xml:"personOrUserReportedPerson,omitempty" json:"personOrUserReportedPerson,omitempty"`
	VehicleDescription         string                      `xml:"vehicleDescription,omitempty" json:"vehicleDescription,omitempty"`
	ESPIdentifier              string                      `xml:"espIdentifier,omitempty" json:"espIdentifier,omitempty"`
	ESPService                 string                      `xml:"espService,omitempty" json:"espService,omitempty"`
	CompromisedAccount         *bool                       `xml:"compromisedAccount,omitempty" json:"compromisedAccount,omitempty"`
	ScreenName                 string                      `xml:"screenName,omitempty" json:"screenName,omitempty"`
	DisplayName                []string                    `xml:"displayName" json:"displayName,omitempty"`
	ProfileURL                 []string                    `xml:"profileUrl" json:"profileUrl,omitempty"`
	ProfileBio                 string                      `xml:"profileBio,omitempty" json:"profileBio,omitempty"`
	IPCaptureEvent             []IPCaptureEvent            `xml:"ipCaptureEvent" json:"ipCaptureEvent,omitempty"`
	DeviceID                   []DeviceID                  `xml:"deviceId" json:"deviceId,omitempty"`
	ThirdPartyUserReported     *bool                       `xml:"thirdPartyUserReported,omitempty" json:"thirdPartyUserReported,omitempty"`
	PriorCTReports             []int64                     `xml:"priorCTReports" json:"priorCTReports,omitempty"`
	GroupIdentifier            string                      `xml:"groupIdentifier,omitempty" json:"groupIdentifier,omitempty"`
	AccountTemporarilyDisabled *AccountTemporarilyDisabled `xml:"accountTemporarilyDisabled,omitempty" json:"accountTemporarilyDisabled,omitempty"`
	AccountPermanentlyDisabled *AccountPermanentlyDisabled `xml:"accountPermanentlyDisabled,omitempty" json:"accountPermanentlyDisabled,omitempty"`
	EstimatedLocation          *EstimatedLocation          `xml:"estimatedLocation,omitempty" json:"estimatedLocation,omitempty"`
	AllEmailsReported          *bool                       `xml:"allEmailsReported,omitempty" json:"allEmailsReported,omitempty"`
	AssociatedAccount          []AssociatedAccount         `xml:"associatedAccount" json:"associatedAccount,omitempty"`
	AdditionalInfo             string                      `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// IntendedRecipient is a person the reported user targeted. Unlike the other
// sections it may carry several additionalInfo elements.
type IntendedRecipient struct {
	IntendedRecipientPerson    *Person                     `xml:"intendedRecipientPerson,omitempty" json:"intendedRecipientPerson,omitempty"`
	ESPIdentifier              string                      `xml:"espIdentifier,omitempty" json:"espIdentifier,omitempty"`
	ESPService                 string                      `xml:"espService,omitempty" json:"espService,omitempty"`
	CompromisedAccount         *bool                       `xml:"compromisedAccount,omitempty" json:"compromisedAccount,omitempty"`
	ScreenName                 string                      `xml:"screenName,omitempty" json:"screenName,omitempty"`
	DisplayName                []string                    `xml:"displayName" json:"displayName,omitempty"`
	ProfileURL                 []string                    `xml:"profileUrl" json:"profileUrl,omitempty"`
	ProfileBio                 string                      `xml:"profileBio,omitempty" json:"profileBio,omitempty"`
	IPCaptureEvent             []IPCaptureEvent            `xml:"ipCaptureEvent" json:"ipCaptureEvent,omitempty"`
	DeviceID                   []DeviceID                  `xml:"deviceId" json:"deviceId,omitempty"`
	PriorCTReports             []int64                     `xml:"priorCTReports" json:"priorCTReports,omitempty"`
	GroupIdentifier            string                      `xml:"groupIdentifier,omitempty" json:"groupIdentifier,omitempty"`
	AccountTemporarilyDisabled *AccountTemporarilyDisabled `xml:"accountTemporarilyDisabled,omitempty" json:"accountTemporarilyDisabled,omitempty"`
	AccountPermanentlyDisabled *AccountPermanentlyDisabled `xml:"accountPermanentlyDisabled,omitempty" json:"accountPermanentlyDisabled,omitempty"`
	EstimatedLocation          *EstimatedLocation          `xml:"estimatedLocation,omitempty" json:"estimatedLocation,omitempty"`
	AllEmailsReported          *bool                       `xml:"allEmailsReported,omitempty" json:"allEmailsReported,omitempty"`
	AdditionalInfo             []string                    `xml:"additionalInfo" json:"additionalInfo,omitempty"`
}

// Victim is a child victim. VictimPerson is required by the schema.
type Victim struct {
	VictimPerson               Person                      `xml:"victimPerson" json:"victimPerson"`
	ESPIdentifier              string                      `xml:"espIdentifier,omitempty" json:"espIdentifier,omitempty"`
	ESPService                 string                      `xml:"espService,omitempty" json:"espService,omitempty"`
	CompromisedAccount         *bool                       `xml:"compromisedAccount,omitempty" json:"compromisedAccount,omitempty"`
	ScreenName                 string                      `xml:"screenName,omitempty" json:"screenName,omitempty"`
	DisplayName                []string                    `xml:"displayName" json:"displayName,omitempty"`
	ProfileURL                 []string                    `xml:"profileUrl" json:"profileUrl,omitempty"`
	ProfileBio                 string                      `xml:"profileBio,omitempty" json:"profileBio,omitempty"`
	IPCaptureEvent             []IPCaptureEvent            `xml:"ipCaptureEvent" json:"ipCaptureEvent,omitempty"`
	DeviceID                   []DeviceID                  `xml:"deviceId" json:"deviceId,omitempty"`
	SchoolName                 string                      `xml:"schoolName,omitempty" json:"schoolName,omitempty"`
	PriorCTReports             []int64                     `xml:"priorCTReports" json:"priorCTReports,omitempty"`
	AccountTemporarilyDisabled *AccountTemporarilyDisabled `xml:"accountTemporarilyDisabled,omitempty" json:"accountTemporarilyDisabled,omitempty"`
	AccountPermanentlyDisabled *AccountPermanentlyDisabled `xml:"accountPermanentlyDisabled,omitempty" json:"accountPermanentlyDisabled,omitempty"`
	EstimatedLocation          *EstimatedLocation          `xml:"estimatedLocation,omitempty" json:"estimatedLocation,omitempty"`
	AllEmailsReported          *bool                       `xml:"allEmailsReported,omitempty" json:"allEmailsReported,omitempty"`
	AssociatedAccount          []AssociatedAccount         `xml:"associatedAccount" json:"associatedAccount,omitempty"`
	AdditionalInfo             string                      `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// Person is the schema type "person" (reportingPerson,
// personOrUserReportedPerson, intendedRecipientPerson, victimPerson).
type Person struct {
	FirstName   string    `xml:"firstName,omitempty" json:"firstName,omitempty"`
	LastName    string    `xml:"lastName,omitempty" json:"lastName,omitempty"`
	Phone       []Phone   `xml:"phone" json:"phone,omitempty"`
	Email       []Email   `xml:"email" json:"email,omitempty"`
	Address     []Address `xml:"address" json:"address,omitempty"`
	Age         *int      `xml:"age,omitempty" json:"age,omitempty"`
	DateOfBirth *Date     `xml:"dateOfBirth,omitempty" json:"dateOfBirth,omitempty"`
}

// ContactPerson is the schema type "contactPerson" (contactPerson,
// officerContact): the first five elements of [Person].
type ContactPerson struct {
	FirstName string    `xml:"firstName,omitempty" json:"firstName,omitempty"`
	LastName  string    `xml:"lastName,omitempty" json:"lastName,omitempty"`
	Phone     []Phone   `xml:"phone" json:"phone,omitempty"`
	Email     []Email   `xml:"email" json:"email,omitempty"`
	Address   []Address `xml:"address" json:"address,omitempty"`
}

// Phone is a telephone number (elements phone and phoneNumber).
type Phone struct {
	Value              string    `xml:",chardata" json:"value"`
	Type               string    `xml:"type,attr,omitempty" json:"type,omitempty"`
	Verified           *bool     `xml:"verified,attr,omitempty" json:"verified,omitempty"`
	VerificationDate   *DateTime `xml:"verificationDate,attr,omitempty" json:"verificationDate,omitempty"`
	CountryCallingCode string    `xml:"countryCallingCode,attr,omitempty" json:"countryCallingCode,omitempty"`
	Extension          string    `xml:"extension,attr,omitempty" json:"extension,omitempty"`
}

// Email is an e-mail address (elements email and emailAddress).
type Email struct {
	Value            string    `xml:",chardata" json:"value"`
	Type             string    `xml:"type,attr,omitempty" json:"type,omitempty"`
	Verified         *bool     `xml:"verified,attr,omitempty" json:"verified,omitempty"`
	VerificationDate *DateTime `xml:"verificationDate,attr,omitempty" json:"verificationDate,omitempty"`
}

// Address is a postal address (elements address and incidentAddress).
// State is a US postal code, Country a two-letter code; both may be "".
type Address struct {
	Type        string `xml:"type,attr,omitempty" json:"type,omitempty"`
	Address     string `xml:"address,omitempty" json:"address,omitempty"`
	City        string `xml:"city,omitempty" json:"city,omitempty"`
	ZipCode     string `xml:"zipCode,omitempty" json:"zipCode,omitempty"`
	State       string `xml:"state,omitempty" json:"state,omitempty"`
	NonUSAState string `xml:"nonUsaState,omitempty" json:"nonUsaState,omitempty"`
	Country     string `xml:"country,omitempty" json:"country,omitempty"`
}

// IPCaptureEvent is an IP address seen at some event. IPAddress is free text
// in the schema; nothing guarantees it parses as an address.
type IPCaptureEvent struct {
	IPAddress     string    `xml:"ipAddress" json:"ipAddress"`
	EventName     string    `xml:"eventName,omitempty" json:"eventName,omitempty"`
	DateTime      *DateTime `xml:"dateTime,omitempty" json:"dateTime,omitempty"`
	PossibleProxy *bool     `xml:"possibleProxy,omitempty" json:"possibleProxy,omitempty"`
	Port          *int      `xml:"port,omitempty" json:"port,omitempty"`
}

// DeviceID identifies a device (IDType is e.g. "IMEI", "ICCID", "SSID").
type DeviceID struct {
	IDType    string    `xml:"idType" json:"idType"`
	IDValue   string    `xml:"idValue" json:"idValue"`
	EventName string    `xml:"eventName,omitempty" json:"eventName,omitempty"`
	DateTime  *DateTime `xml:"dateTime,omitempty" json:"dateTime,omitempty"`
}

// EstimatedLocation is the reporter's estimate of where a person is.
type EstimatedLocation struct {
	Verified    *bool     `xml:"verified,attr,omitempty" json:"verified,omitempty"`
	Timestamp   *DateTime `xml:"timestamp,attr,omitempty" json:"timestamp,omitempty"`
	City        string    `xml:"city,omitempty" json:"city,omitempty"`
	Region      string    `xml:"region,omitempty" json:"region,omitempty"`
	CountryCode string    `xml:"countryCode,omitempty" json:"countryCode,omitempty"`
}

// AccountTemporarilyDisabled says whether and when an account was
// temporarily disabled.
type AccountTemporarilyDisabled struct {
	Value            bool      `xml:",chardata" json:"value"`
	DisabledDate     *DateTime `xml:"disabledDate,attr,omitempty" json:"disabledDate,omitempty"`
	UserNotified     *bool     `xml:"userNotified,attr,omitempty" json:"userNotified,omitempty"`
	UserNotifiedDate *DateTime `xml:"userNotifiedDate,attr,omitempty" json:"userNotifiedDate,omitempty"`
	ReenabledDate    *DateTime `xml:"reenabledDate,attr,omitempty" json:"reenabledDate,omitempty"`
}

// AccountPermanentlyDisabled says whether and when an account was
// permanently disabled.
type AccountPermanentlyDisabled struct {
	Value            bool      `xml:",chardata" json:"value"`
	DisabledDate     *DateTime `xml:"disabledDate,attr,omitempty" json:"disabledDate,omitempty"`
	UserNotified     *bool     `xml:"userNotified,attr,omitempty" json:"userNotified,omitempty"`
	UserNotifiedDate *DateTime `xml:"userNotifiedDate,attr,omitempty" json:"userNotifiedDate,omitempty"`
}

// AssociatedAccount is another account of a reported user or victim. Type
// (required) is one of "Billing", "Linked", "Business", "Creator",
// "Parent/Guardian", "Other". Note the singular PriorCTReport, as in the
// schema.
type AssociatedAccount struct {
	Type                       string                      `xml:"type,attr" json:"type"`
	Platform                   *AssociatedAccountPlatform  `xml:"platform,omitempty" json:"platform,omitempty"`
	FirstName                  string                      `xml:"firstName,omitempty" json:"firstName,omitempty"`
	MiddleName                 string                      `xml:"middleName,omitempty" json:"middleName,omitempty"`
	LastName                   string                      `xml:"lastName,omitempty" json:"lastName,omitempty"`
	ApproximateAge             *int                        `xml:"approximateAge,omitempty" json:"approximateAge,omitempty"`
	DateOfBirth                *Date                       `xml:"dateOfBirth,omitempty" json:"dateOfBirth,omitempty"`
	Phone                      []Phone                     `xml:"phone" json:"phone,omitempty"`
	Email                      []Email                     `xml:"email" json:"email,omitempty"`
	AllEmailsReported          *bool                       `xml:"allEmailsReported,omitempty" json:"allEmailsReported,omitempty"`
	Address                    []Address                   `xml:"address" json:"address,omitempty"`
	ESPService                 string                      `xml:"espService,omitempty" json:"espService,omitempty"`
	ESPIdentifier              string                      `xml:"espIdentifier,omitempty" json:"espIdentifier,omitempty"`
	ProfileURL                 []string                    `xml:"profileUrl" json:"profileUrl,omitempty"`
	ScreenName                 string                      `xml:"screenName,omitempty" json:"screenName,omitempty"`
	DisplayName                []string                    `xml:"displayName" json:"displayName,omitempty"`
	ProfileBio                 string                      `xml:"profileBio,omitempty" json:"profileBio,omitempty"`
	GroupIdentifier            string                      `xml:"groupIdentifier,omitempty" json:"groupIdentifier,omitempty"`
	CompromisedAccount         *bool                       `xml:"compromisedAccount,omitempty" json:"compromisedAccount,omitempty"`
	AccountTemporarilyDisabled *AccountTemporarilyDisabled `xml:"accountTemporarilyDisabled,omitempty" json:"accountTemporarilyDisabled,omitempty"`
	AccountPermanentlyDisabled *AccountPermanentlyDisabled `xml:"accountPermanentlyDisabled,omitempty" json:"accountPermanentlyDisabled,omitempty"`
	IPCaptureEvent             []IPCaptureEvent            `xml:"ipCaptureEvent" json:"ipCaptureEvent,omitempty"`
	DeviceID                   []DeviceID                  `xml:"deviceId" json:"deviceId,omitempty"`
	PriorCTReport              []int64                     `xml:"priorCTReport" json:"priorCTReport,omitempty"`
	AdditionalInfo             string                      `xml:"additionalInfo,omitempty" json:"additionalInfo,omitempty"`
}

// AssociatedAccountPlatform names the platform of an associated account;
// ThirdPartyUser says it belongs to another company.
type AssociatedAccountPlatform struct {
	Value          string `xml:",chardata" json:"value"`
	ThirdPartyUser *bool  `xml:"thirdPartyUser,attr,omitempty" json:"thirdPartyUser,omitempty"`
}

// FileDetails is the <fileDetails> document a reporter sends to /fileinfo
// about one uploaded file.
type FileDetails struct {
	XMLName                xml.Name  `xml:"fileDetails" json:"-"`
	ReportID               int64     `xml:"reportId" json:"reportId,omitempty"`
	FileID                 string    `xml:"fileId" json:"fileId,omitempty"`
	FileName               string    `xml:"fileName,omitempty" json:"fileName,omitempty"`
	OriginalFileName       string    `xml:"originalFileName,omitempty" json:"originalFileName,omitempty"`
	UploadedToESPTimestamp *DateTime `xml:"uploadedToEspTimestamp,omitempty" json:"uploadedToEspTimestamp,omitempty"`
	LocationOfFile         string    `xml:"locationOfFile,omitempty" json:"locationOfFile,omitempty"`
	FileViewedByESP        *bool     `xml:"fileViewedByEsp,omitempty" json:"fileViewedByEsp,omitempty"`
	ExifViewedByESP        *bool     `xml:"exifViewedByEsp,omitempty" json:"exifViewedByEsp,omitempty"`
	PubliclyAvailable      *bool     `xml:"publiclyAvailable,omitempty" json:"publiclyAvailable,omitempty"`
	// FileRelevance is "Reported", "Supplemental Reported", or "" when
	// absent, which the schema documents as meaning "Reported"; see
	// [FileDetails.Relevance].
	FileRelevance string `xml:"fileRelevance,omitempty" json:"fileRelevance,omitempty"`
	// PotentialMeme and FileAnnotations are a schema choice: at most one
	// is set.
	PotentialMeme          *bool            `xml:"potentialMeme,omitempty" json:"potentialMeme,omitempty"`
	FileAnnotations        *FileAnnotations `xml:"fileAnnotations,omitempty" json:"fileAnnotations,omitempty"`
	IndustryClassification string           `xml:"industryClassification,omitempty" json:"industryClassification,omitempty"`
	OriginalFileHash       []FileHash       `xml:"originalFileHash" json:"originalFileHash,omitempty"`
	IPCaptureEvent         *IPCaptureEvent  `xml:"ipCaptureEvent,omitempty" json:"ipCaptureEvent,omitempty"`
	DeviceID               []DeviceID       `xml:"deviceId" json:"deviceId,omitempty"`
	Details                []FileMetadata   `xml:"details" json:"details,omitempty"`
	AdditionalInfo         []string         `xml:"additionalInfo" json:"additionalInfo,omitempty"`
}

// File relevance values.
const (
	RelevanceReported             = "Reported"
	RelevanceSupplementalReported = "Supplemental Reported"
)

// Relevance returns the file's relevance with the schema's default applied:
// an absent fileRelevance means [RelevanceReported].
func (d *FileDetails) Relevance() string {
	if d.FileRelevance == "" {
		return RelevanceReported
	}
	return d.FileRelevance
}

// IsPotentialMeme reports whether the reporter flagged the file as a
// potential meme, by either of the two elements the schema offers.
func (d *FileDetails) IsPotentialMeme() bool {
	return (d.PotentialMeme != nil && *d.PotentialMeme) ||
		(d.FileAnnotations != nil && d.FileAnnotations.PotentialMeme)
}

// FileAnnotations are the reporter's tags for a file. Each is a presence
// flag: true when the element was sent.
type FileAnnotations struct {
	AnimeDrawingVirtualHentai bool `xml:"animeDrawingVirtualHentai,omitempty" json:"animeDrawingVirtualHentai,omitempty"`
	PotentialMeme             bool `xml:"potentialMeme,omitempty" json:"potentialMeme,omitempty"`
	Viral                     bool `xml:"viral,omitempty" json:"viral,omitempty"`
	PossibleSelfProduction    bool `xml:"possibleSelfProduction,omitempty" json:"possibleSelfProduction,omitempty"`
	PhysicalHarm              bool `xml:"physicalHarm,omitempty" json:"physicalHarm,omitempty"`
	ViolenceGore              bool `xml:"violenceGore,omitempty" json:"violenceGore,omitempty"`
	Bestiality                bool `xml:"bestiality,omitempty" json:"bestiality,omitempty"`
	LiveStreaming             bool `xml:"liveStreaming,omitempty" json:"liveStreaming,omitempty"`
	Infant                    bool `xml:"infant,omitempty" json:"infant,omitempty"`
	GenerativeAI              bool `xml:"generativeAi,omitempty" json:"generativeAi,omitempty"`
}

// FileHash is a digest of the original file as the reporter computed it
// (HashType is free text such as "MD5", "SHA1", "SHA256").
type FileHash struct {
	Value    string `xml:",chardata" json:"value"`
	HashType string `xml:"hashType,attr" json:"hashType"`
}

// FileMetadata is a <details> element: name/value pairs of a kind of
// metadata (Type "EXIF", "HASH" or "").
type FileMetadata struct {
	Type          string          `xml:"type,attr,omitempty" json:"type,omitempty"`
	NameValuePair []NameValuePair `xml:"nameValuePair" json:"nameValuePair"`
}

// NameValuePair is one metadata item.
type NameValuePair struct {
	Name  string `xml:"name" json:"name"`
	Value string `xml:"value" json:"value"`
}

// DateTime is an xs:dateTime value. It keeps the text as sent, because the
// schema makes the time zone optional and a time without one is not an
// instant: only Zoned values can be compared across reports with certainty.
//
// It marshals to XML and JSON as its lexical form.
type DateTime struct {
	// Lexical is the value as sent (after the schema's whitespace rules).
	Lexical string
	// Time is the value as an instant. Without a zone in the text it is
	// read as UTC, and Zoned is false. "24:00:00" is midnight of the next
	// day. It is the zero Time for years time.Time cannot hold.
	Time time.Time
	// Zoned reports whether the text carried a time zone.
	Zoned bool
}

// Date is an xs:date value (dateOfBirth), kept like [DateTime]. Time is
// midnight at the start of the day, in the given zone or UTC.
type Date struct {
	Lexical string
	Time    time.Time
	Zoned   bool
}

// ParseDateTime parses the XML Schema 1.0 lexical form of xs:dateTime:
// [-]YYYY-MM-DDThh:mm:ss[.fff...][Z|(+|-)hh:mm], with years of four or more
// digits (no leading zero beyond four digits, no year 0000), the day checked
// against the month, seconds below 60, 24:00:00 allowed, and offsets within
// ±14:00. It accepts no surrounding whitespace.
func ParseDateTime(s string) (DateTime, error) {
	year, month, day, rest, ok := parseXSDDatePart(s)
	if !ok || len(rest) < 9 || rest[0] != 'T' || rest[3] != ':' || rest[6] != ':' {
		return DateTime{}, errors.New("not a valid xs:dateTime")
	}
	hour, ok1 := xsdTwoDigits(rest[1:3])
	min, ok2 := xsdTwoDigits(rest[4:6])
	sec, ok3 := xsdTwoDigits(rest[7:9])
	if !ok1 || !ok2 || !ok3 || hour > 24 || min > 59 || sec > 59 {
		return DateTime{}, errors.New("not a valid xs:dateTime")
	}
	rest = rest[9:]
	nsec := 0
	if strings.HasPrefix(rest, ".") {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return DateTime{}, errors.New("not a valid xs:dateTime")
		}
		for d := i; d <= 9; d++ {
			nsec *= 10
		}
		if hour == 24 && nsec != 0 {
			return DateTime{}, errors.New("not a valid xs:dateTime")
		}
		rest = rest[i:]
	}
	if hour == 24 && (min != 0 || sec != 0) {
		return DateTime{}, errors.New("not a valid xs:dateTime")
	}
	loc, zoned, ok := parseXSDZone(rest)
	if !ok {
		return DateTime{}, errors.New("not a valid xs:dateTime")
	}
	dt := DateTime{Lexical: s, Zoned: zoned}
	if y, ok := xsdTimeYear(year); ok {
		dt.Time = time.Date(y, time.Month(month), day, hour, min, sec, nsec, loc)
	}
	return dt, nil
}

// ParseDate parses the XML Schema 1.0 lexical form of xs:date:
// [-]YYYY-MM-DD[Z|(+|-)hh:mm], with the rules of [ParseDateTime].
func ParseDate(s string) (Date, error) {
	year, month, day, rest, ok := parseXSDDatePart(s)
	if !ok {
		return Date{}, errors.New("not a valid xs:date")
	}
	loc, zoned, ok := parseXSDZone(rest)
	if !ok {
		return Date{}, errors.New("not a valid xs:date")
	}
	d := Date{Lexical: s, Zoned: zoned}
	if y, ok := xsdTimeYear(year); ok {
		d.Time = time.Date(y, time.Month(month), day, 0, 0, 0, 0, loc)
	}
	return d, nil
}

func (t DateTime) String() string { return t.Lexical }

// IsZero reports whether t holds no value.
func (t DateTime) IsZero() bool { return t.Lexical == "" }

// MarshalText returns the lexical form.
func (t DateTime) MarshalText() ([]byte, error) { return []byte(t.Lexical), nil }

// UnmarshalText parses a lexical form with [ParseDateTime].
func (t *DateTime) UnmarshalText(b []byte) error {
	v, err := ParseDateTime(string(b))
	if err != nil {
		return fmt.Errorf("%q: %w", Clip(string(b), 40), err)
	}
	*t = v
	return nil
}

func (d Date) String() string { return d.Lexical }

// IsZero reports whether d holds no value.
func (d Date) IsZero() bool { return d.Lexical == "" }

// MarshalText returns the lexical form.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.Lexical), nil }

// UnmarshalText parses a lexical form with [ParseDate].
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return fmt.Errorf("%q: %w", Clip(string(b), 40), err)
	}
	*d = v
	return nil
}

// parseXSDDatePart parses [-]YYYY-MM-DD and returns what follows. Years are
// int64, as in libxml2, so that both validators accept the same documents.
func parseXSDDatePart(s string) (year int64, month, day int, rest string, ok bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < 4 || (i > 4 && s[0] == '0') {
		return 0, 0, 0, "", false
	}
	year, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || year == 0 {
		return 0, 0, 0, "", false
	}
	if neg {
		year = -year
	}
	s = s[i:]
	if len(s) < 6 || s[0] != '-' || s[3] != '-' {
		return 0, 0, 0, "", false
	}
	month, ok1 := xsdTwoDigits(s[1:3])
	day, ok2 := xsdTwoDigits(s[4:6])
	if !ok1 || !ok2 || month < 1 || month > 12 || day < 1 || day > xsdDaysIn(year, month) {
		return 0, 0, 0, "", false
	}
	return year, month, day, s[6:], true
}

// parseXSDZone parses an optional zone that must end the string.
func parseXSDZone(s string) (loc *time.Location, zoned, ok bool) {
	switch {
	case s == "":
		return time.UTC, false, true
	case s == "Z":
		return time.UTC, true, true
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		h, ok1 := xsdTwoDigits(s[1:3])
		m, ok2 := xsdTwoDigits(s[4:6])
		if !ok1 || !ok2 || m > 59 || h*60+m > 14*60 {
			return nil, false, false
		}
		off := (h*60 + m) * 60
		if s[0] == '-' {
			off = -off
		}
		if off == 0 {
			return time.UTC, true, true
		}
		return time.FixedZone(s, off), true, true
	}
	return nil, false, false
}

func xsdTwoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// xsdDaysIn returns the days of a month. Leap years follow the Gregorian rule
// applied to the year as written, also for negative years, as libxml2 does,
// so that both validators accept the same February 29ths.
func xsdDaysIn(year int64, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// xsdTimeYear converts a year to package time's, reporting whether time.Time
// can hold it. Negative years are taken as written (astronomical numbering),
// matching the leap-year rule of xsdDaysIn.
func xsdTimeYear(year int64) (int, bool) {
	const limit = 200_000_000_000 // well inside time.Time's range
	if year < -limit || year > limit {
		return 0, false
	}
	return int(year), true
}
