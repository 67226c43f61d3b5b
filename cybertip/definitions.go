package cybertip

// The CyberTipline schema, 2025-11 vocabulary, element by element as in the
// reference (docs: cybertipline-api.md §2–§4). This is the only description of
// the documents in Guardian: ParseReport and ParseFileDetails validate
// against it and XSD prints it.
//
// Documented limits that the NCMEC XSD lacks (§3.12 and the "[D]" columns)
// are facets of named types below whose documentation says so.

// Enumerations.
var (
	tIncidentType = enumType("incidentType", "The type of incident being reported.",
		"Child Pornography (possession, manufacture, and distribution)",
		"Child Sex Trafficking",
		"Child Sex Tourism",
		"Child Sexual Molestation",
		"Misleading Domain Name",
		"Misleading Words or Digital Images on the Internet",
		"Online Enticement of Children for Sexual Acts",
		"Unsolicited Obscene Material Sent to a Child",
	)
	tBatchedReportReason  = enumType("batchedReportReason", "Why otherwise individual reports were batched.", "VIRAL_POTENTIAL_MEME")
	tPhoneType            = enumType("phoneType", "", "Mobile", "Home", "Business", "Work", "Fax", "Internet", "Recovery")
	tEmailType            = enumType("emailType", "", "Home", "Work", "Business", "Recovery")
	tAddressType          = enumType("addressType", "", "Home", "Business", "Billing", "Shipping", "Technical")
	tIPCaptureType        = enumType("ipCaptureType", "The event at which an IP address or device was seen.", "Login", "Registration", "Purchase", "Upload", "Other", "Unknown")
	tAssociatedAccountTyp = enumType("associatedAccountType", "", "Billing", "Linked", "Business", "Creator", "Parent/Guardian", "Other")
	tFileRelevance        = enumType("fileRelevance", "Reported when absent.", "Reported", "Supplemental Reported")
	tFileClassification   = enumType("fileClassification", "Industry classification: letter = apparent age (A prepubescent, B pubescent), digit = rank (1 sex act, 2 lascivious exhibition).", "A1", "A2", "B1", "B2")
	tMetadataTypes        = enumType("metadataTypes", "", "EXIF", "HASH")

	tState = enumType("state", "US postal state code, or empty.",
		"", "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA",
		"ID", "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT",
		"NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI",
		"SC", "SD", "TN", "TX", "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
	)
	tCountry = enumType("country", "Two-letter country code, or empty. A1 anonymous proxy, A2 satellite provider, O1 other.",
		"", "A1", "A2", "O1", "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AN", "AO", "AP", "AQ",
		"AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH",
		"BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
		"CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
		"CV", "CX", "CW", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG",
		"EH", "ER", "ES", "ET", "EU", "FI", "FJ", "FK", "FM", "FO", "FR", "FX", "GA", "GB",
		"GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT",
		"GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN",
		"IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM",
		"KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
		"LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN",
		"MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC",
		"NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF",
		"PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO",
		"RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL",
		"SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG",
		"TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG",
		"UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK",
		"YE", "YT", "ZA", "ZM", "ZW",
	)
)

// Patterns.
var (
	tCountryCallingCode = patternType("countryCallingCode", "International calling code, e.g. +1 or +41.",
		`\+[0-9]{1,3}`, `\+[0-9]{1,3}`)
	tExtension = func() *simpleType {
		t := patternType("extension", "Phone extension digits. Documented limit: at most 10 digits.",
			`[0-9]+`, `[0-9]+`)
		t.maxLength = 10
		return t
	}()
)

// Documented limits (§3.12 and the "[D]" columns of the reference).
var (
	tString20   = maxLen("string20", 20)
	tString50   = maxLen("string50", 50)
	tString64   = maxLen("string64", 64)
	tString100  = maxLen("string100", 100)
	tString255  = maxLen("string255", 255)
	tString256  = maxLen("string256", 256)
	tString300  = maxLen("string300", 300)
	tString2056 = maxLen("string2056", 2056)
	tString2083 = maxLen("string2083", 2083)
	tString3000 = maxLen("string3000", 3000)

	tAge  = rangeType("age", "Age in years. Documented limit: 0 to 150.", xsInt, "0", "150")
	tPort = rangeType("port", "TCP or UDP port. Documented limit: 1 to 65535.", xsInt, "1", "65535")

	// The NCMEC XSD types both as xs:double. Guardian bounds them because
	// values beyond (including INF and NaN) locate nothing and cannot be
	// stored as JSON numbers.
	tLatitude  = rangeType("latitude", "Degrees, positive north. Guardian limit: -90 to 90.", xsDouble, "-90", "90")
	tLongitude = rangeType("longitude", "Degrees, positive east. Guardian limit: -180 to 180.", xsDouble, "-180", "180")
)

// Simple-content complex types.
var (
	ctText = &complexType{name: "text", doc: "Plain text.", text: tString}
	// content holds headers, subject and body of a communication.
	ctContent    = &complexType{name: "content", doc: "Headers, subject and content of a communication.", text: tString}
	ctScreenName = &complexType{name: "screenName", doc: "A screen name.", text: tString256}

	ctPhone = &complexType{
		name: "phone",
		doc:  "A phone number.",
		text: tString50,
		attrs: []*attribute{
			attr("type", tPhoneType, ""),
			attr("verified", tBoolean, "The number has been verified."),
			attr("verificationDate", tDateTime, ""),
			attr("countryCallingCode", tCountryCallingCode, ""),
			attr("extension", tExtension, ""),
		},
	}
	ctEmail = &complexType{
		name: "email",
		doc:  "An e-mail address.",
		text: tString255,
		attrs: []*attribute{
			attr("type", tEmailType, ""),
			attr("verified", tBoolean, "The address has been verified."),
			attr("verificationDate", tDateTime, ""),
		},
	}
	ctAccountTemporarilyDisabled = &complexType{
		name: "accountTemporarilyDisabled",
		doc:  "Whether the account was temporarily disabled at any point.",
		text: tBoolean,
		attrs: []*attribute{
			attr("disabledDate", tDateTime, ""),
			attr("userNotified", tBoolean, ""),
			attr("userNotifiedDate", tDateTime, ""),
			attr("reenabledDate", tDateTime, ""),
		},
	}
	ctAccountPermanentlyDisabled = &complexType{
		name: "accountPermanentlyDisabled",
		doc:  "Whether the account was permanently disabled.",
		text: tBoolean,
		attrs: []*attribute{
			attr("disabledDate", tDateTime, ""),
			attr("userNotified", tBoolean, ""),
			attr("userNotifiedDate", tDateTime, ""),
		},
	}
	ctHash = &complexType{
		name:  "hash",
		doc:   "A digest of the original file.",
		text:  tString,
		attrs: []*attribute{requiredAttr("hashType", tString64, "e.g. MD5, SHA1, SHA256")},
	}
)

// Common element-content types (§3.9).
var (
	ctAddress = &complexType{
		name:  "address",
		attrs: []*attribute{attr("type", tAddressType, "")},
		model: seq(
			opt(el("address", tString255)),
			opt(el("city", tString100)),
			opt(el("zipCode", tString20)),
			opt(el("state", tState)),
			opt(el("nonUsaState", tString100)),
			opt(el("country", tCountry)),
		),
	}
	ctPerson = &complexType{
		name: "person",
		doc:  "A person.",
		model: seq(
			opt(el("firstName", tString100)),
			opt(el("lastName", tString100)),
			many(elc("phone", ctPhone)),
			many(elc("email", ctEmail)),
			many(elc("address", ctAddress)),
			opt(el("age", tAge)),
			opt(el("dateOfBirth", tDate)),
		),
	}
	ctContactPerson = &complexType{
		name: "contactPerson",
		doc:  "A person to contact.",
		model: seq(
			opt(el("firstName", tString100)),
			opt(el("lastName", tString100)),
			many(elc("phone", ctPhone)),
			many(elc("email", ctEmail)),
			many(elc("address", ctAddress)),
		),
	}
	ctIPCaptureEvent = &complexType{
		name: "ipCaptureEvent",
		doc:  "An IP address and when it was used.",
		model: seq(
			one(el("ipAddress", tString)),
			opt(el("eventName", tIPCaptureType)),
			opt(el("dateTime", tDateTime)),
			opt(el("possibleProxy", tBoolean)),
			opt(el("port", tPort)),
		),
	}
	ctDeviceID = &complexType{
		name: "deviceId",
		doc:  "A device identifier and, optionally, when it was used.",
		model: seq(
			one(el("idType", tString255)),
			one(el("idValue", tString2083)),
			opt(el("eventName", tIPCaptureType)),
			opt(el("dateTime", tDateTime)),
		),
	}
	ctEstimatedLocation = &complexType{
		name: "estimatedLocation",
		doc:  "The reporter's estimate of where the person is.",
		attrs: []*attribute{
			attr("verified", tBoolean, ""),
			attr("timestamp", tDateTime, ""),
		},
		model: seq(
			opt(el("city", tString255)),
			opt(el("region", tString255)),
			opt(el("countryCode", tCountry)),
		),
	}
	ctAssociatedAccount = &complexType{
		name:  "associatedAccount",
		doc:   "Another account associated with the person.",
		attrs: []*attribute{requiredAttr("type", tAssociatedAccountTyp, "")},
		model: seq(
			opt(elc("platform", &complexType{
				text:  tString256,
				attrs: []*attribute{attr("thirdPartyUser", tBoolean, "The account is on another company's service.")},
			})),
			opt(el("firstName", tString256)),
			opt(el("middleName", tString256)),
			opt(el("lastName", tString256)),
			opt(el("approximateAge", tAge)),
			opt(el("dateOfBirth", tDate)),
			many(elc("phone", ctPhone)),
			many(elc("email", ctEmail)),
			opt(el("allEmailsReported", tBoolean)),
			many(elc("address", ctAddress)),
			opt(el("espService", tString256)),
			opt(el("espIdentifier", tString256)),
			many(el("profileUrl", tString)),
			opt(elc("screenName", ctScreenName)),
			many(el("displayName", tString)),
			opt(elc("profileBio", ctText)),
			opt(el("groupIdentifier", tString256)),
			opt(el("compromisedAccount", tBoolean)),
			opt(elc("accountTemporarilyDisabled", ctAccountTemporarilyDisabled)),
			opt(elc("accountPermanentlyDisabled", ctAccountPermanentlyDisabled)),
			many(elc("ipCaptureEvent", ctIPCaptureEvent)),
			many(elc("deviceId", ctDeviceID)),
			many(el("priorCTReport", tLong)),
			opt(elc("additionalInfo", ctText)),
		),
	}
)

// The <report> document (§3).
var (
	eIncidentSummary = &element{name: "incidentSummary", global: true, doc: "General incident information.",
		complex: &complexType{model: seq(
			one(el("incidentType", tIncidentType)),
			opt(el("platform", tString256)),
			opt(el("escalateToHighPriority", tString3000)),
			opt(elc("reportAnnotations", &complexType{
				name: "reportAnnotations",
				doc:  "Tags for the incident; each is a presence flag.",
				model: allOf(
					flag("sextortion"),
					flag("csamSolicitation"),
					flag("minorToMinorInteraction"),
					flag("spam"),
					flag("sadisticOnlineExploitation"),
				),
			})),
			one(el("incidentDateTime", tDateTime)),
			opt(el("incidentDateTimeDescription", tString3000)),
		)}}

	eWebPageIncident = &element{name: "webPageIncident", global: true, doc: "The incident occurred on a web page.",
		complex: &complexType{
			attrs: []*attribute{attr("thirdPartyHostedContent", tBoolean, "The URL is hosted by another company.")},
			model: seq(
				many(el("url", tString)),
				opt(elc("additionalInfo", ctText)),
			)}}
	eEmailIncident = &element{name: "emailIncident", global: true, doc: "The incident occurred over e-mail.",
		complex: &complexType{model: seq(
			many(elc("emailAddress", ctEmail)),
			opt(elc("content", ctContent)),
			opt(elc("additionalInfo", ctText)),
		)}}
	eNewsgroupIncident = &element{name: "newsgroupIncident", global: true, doc: "The incident occurred in a newsgroup.",
		complex: &complexType{model: seq(
			opt(el("name", tString255)),
			many(elc("emailAddress", ctEmail)),
			opt(elc("content", ctContent)),
			opt(elc("additionalInfo", ctText)),
		)}}
	eChatImIncident = &element{name: "chatImIncident", global: true, doc: "The incident occurred over IM or in a chat.",
		complex: &complexType{model: seq(
			opt(el("chatClient", tString255)),
			opt(el("chatRoomName", tString255)),
			opt(elc("content", ctContent)),
			opt(elc("additionalInfo", ctText)),
		)}}
	eOnlineGamingIncident = &element{name: "onlineGamingIncident", global: true, doc: "The incident occurred during an online game.",
		complex: &complexType{model: seq(
			opt(el("gameName", tString255)),
			opt(el("console", tString255)),
			opt(elc("content", ctContent)),
			opt(elc("additionalInfo", ctText)),
		)}}
	eCellPhoneIncident = &element{name: "cellPhoneIncident", global: true, doc: "The incident occurred mainly by cell phone.",
		complex: &complexType{model: seq(
			opt(elc("phoneNumber", ctPhone)),
			opt(el("latitude", tLatitude)),
			opt(el("longitude", tLongitude)),
			opt(elc("additionalInfo", ctText)),
		)}}
	eNonInternetIncident = &element{name: "nonInternetIncident", global: true, doc: "The incident has no online, computer or cell-phone component.",
		complex: &complexType{model: seq(
			opt(el("locationName", tString255)),
			many(elc("incidentAddress", ctAddress)),
			opt(elc("additionalInfo", ctText)),
		)}}
	ePeer2peerIncident = &element{name: "peer2peerIncident", global: true, doc: "The incident occurred on a peer-to-peer network.",
		complex: &complexType{model: seq(
			opt(el("client", tString255)),
			many(elc("ipCaptureEvent", ctIPCaptureEvent)),
			opt(el("fileNames", tString)),
			opt(elc("additionalInfo", ctText)),
		)}}

	eInternetDetails = &element{name: "internetDetails", global: true,
		doc: "Where the incident happened: exactly one incident element. Repeat internetDetails for several.",
		complex: &complexType{model: choiceOf(
			eWebPageIncident,
			eEmailIncident,
			eNewsgroupIncident,
			eChatImIncident,
			eOnlineGamingIncident,
			eCellPhoneIncident,
			eNonInternetIncident,
			ePeer2peerIncident,
		)}}

	eLawEnforcement = &element{name: "lawEnforcement", global: true, doc: "Law enforcement already involved.",
		complex: &complexType{model: seq(
			one(el("agencyName", tString255)),
			opt(el("caseNumber", tString100)),
			opt(elc("officerContact", ctContactPerson)),
			opt(el("reportedToLe", tBoolean)),
			opt(el("servedLegalProcessDomestic", tBoolean)),
			opt(elc("servedLegalProcessInternational", &complexType{
				text:  tBoolean,
				attrs: []*attribute{attr("fleaCountry", tCountry, "Country from which legal process was received.")},
			})),
		)}}

	eReporter = &element{name: "reporter", global: true, doc: "The person and company reporting the incident.",
		complex: &complexType{model: seq(
			one(elc("reportingPerson", ctPerson)),
			opt(elc("contactPerson", ctContactPerson)),
			opt(elc("companyTemplate", ctText)),
			opt(elc("termsOfService", ctText)),
			opt(el("legalURL", tString2083)),
		)}}

	ePersonOrUserReported = &element{name: "personOrUserReported", global: true, doc: "The reported person or user.",
		complex: &complexType{model: seq(
			opt(elc("personOrUserReportedPerson", ctPerson)),
			opt(el("vehicleDescription", tString300)),
			opt(el("espIdentifier", tString255)),
			opt(el("espService", tString100)),
			opt(el("compromisedAccount", tBoolean)),
			opt(elc("screenName", ctScreenName)),
			many(el("displayName", tString)),
			many(el("profileUrl", tString)),
			opt(elc("profileBio", ctText)),
			many(elc("ipCaptureEvent", ctIPCaptureEvent)),
			many(elc("deviceId", ctDeviceID)),
			opt(el("thirdPartyUserReported", tBoolean)),
			many(el("priorCTReports", tLong)),
			opt(el("groupIdentifier", tString255)),
			opt(elc("accountTemporarilyDisabled", ctAccountTemporarilyDisabled)),
			opt(elc("accountPermanentlyDisabled", ctAccountPermanentlyDisabled)),
			opt(elc("estimatedLocation", ctEstimatedLocation)),
			opt(el("allEmailsReported", tBoolean)),
			many(elc("associatedAccount", ctAssociatedAccount)),
			opt(elc("additionalInfo", ctText)),
		)}}

	eIntendedRecipient = &element{name: "intendedRecipient", global: true, doc: "An intended recipient.",
		complex: &complexType{model: seq(
			opt(elc("intendedRecipientPerson", ctPerson)),
			opt(el("espIdentifier", tString255)),
			opt(el("espService", tString100)),
			opt(el("compromisedAccount", tBoolean)),
			opt(elc("screenName", ctScreenName)),
			many(el("displayName", tString)),
			many(el("profileUrl", tString)),
			opt(elc("profileBio", ctText)),
			many(elc("ipCaptureEvent", ctIPCaptureEvent)),
			many(elc("deviceId", ctDeviceID)),
			many(el("priorCTReports", tLong)),
			opt(el("groupIdentifier", tString255)),
			opt(elc("accountTemporarilyDisabled", ctAccountTemporarilyDisabled)),
			opt(elc("accountPermanentlyDisabled", ctAccountPermanentlyDisabled)),
			opt(elc("estimatedLocation", ctEstimatedLocation)),
			opt(el("allEmailsReported", tBoolean)),
			many(elc("additionalInfo", ctText)),
		)}}

	eVictim = &element{name: "victim", global: true, doc: "A child victim.",
		complex: &complexType{model: seq(
			one(elc("victimPerson", ctPerson)),
			opt(el("espIdentifier", tString255)),
			opt(el("espService", tString100)),
			opt(el("compromisedAccount", tBoolean)),
			opt(elc("screenName", ctScreenName)),
			many(el("displayName", tString)),
			many(el("profileUrl", tString)),
			opt(elc("profileBio", ctText)),
			many(elc("ipCaptureEvent", ctIPCaptureEvent)),
			many(elc("deviceId", ctDeviceID)),
			opt(el("schoolName", tString255)),
			many(el("priorCTReports", tLong)),
			opt(elc("accountTemporarilyDisabled", ctAccountTemporarilyDisabled)),
			opt(elc("accountPermanentlyDisabled", ctAccountPermanentlyDisabled)),
			opt(elc("estimatedLocation", ctEstimatedLocation)),
			opt(el("allEmailsReported", tBoolean)),
			many(elc("associatedAccount", ctAssociatedAccount)),
			opt(elc("additionalInfo", ctText)),
		)}}

	eReport = &element{name: "report", global: true, doc: "An incident report: the body of /submit.",
		complex: &complexType{model: seq(
			opt(elc("batchedReport", &complexType{
				name:  "batchedReport",
				doc:   "A batch of otherwise individual reports grouped for the given reason.",
				attrs: []*attribute{requiredAttr("reason", tBatchedReportReason, "")},
			})),
			one(eIncidentSummary),
			many(eInternetDetails),
			opt(eLawEnforcement),
			one(eReporter),
			many(ePersonOrUserReported),
			many(eIntendedRecipient),
			many(eVictim),
			opt(elc("additionalInfo", ctText)),
		)}}
)

// The <fileDetails> document (§4).
var (
	eDetails = &element{name: "details", global: true, doc: "Metadata of the file as name/value pairs.",
		complex: &complexType{
			attrs: []*attribute{attr("type", tMetadataTypes, "")},
			model: seq(some(elc("nameValuePair", &complexType{
				name: "nameValue",
				model: seq(
					one(el("name", tString64)),
					one(el("value", tString)),
				),
			}))),
		}}

	eFileDetails = &element{name: "fileDetails", global: true, doc: "Details of an uploaded file: the body of /fileinfo.",
		complex: &complexType{model: seq(
			one(el("reportId", tLong)),
			one(el("fileId", tToken)),
			opt(el("fileName", tString)),
			opt(el("originalFileName", tString2056)),
			opt(el("uploadedToEspTimestamp", tDateTime)),
			opt(el("locationOfFile", tString2083)),
			opt(el("fileViewedByEsp", tBoolean)),
			opt(el("exifViewedByEsp", tBoolean)),
			opt(el("publiclyAvailable", tBoolean)),
			opt(el("fileRelevance", tFileRelevance)),
			optChoice(
				el("potentialMeme", tBoolean),
				elc("fileAnnotations", &complexType{
					name: "fileAnnotations",
					doc:  "Tags for the file; each is a presence flag.",
					model: allOf(
						flag("animeDrawingVirtualHentai"),
						flag("potentialMeme"),
						flag("viral"),
						flag("possibleSelfProduction"),
						flag("physicalHarm"),
						flag("violenceGore"),
						flag("bestiality"),
						flag("liveStreaming"),
						flag("infant"),
						flag("generativeAi"),
					),
				}),
			),
			opt(el("industryClassification", tFileClassification)),
			many(elc("originalFileHash", ctHash)),
			opt(elc("ipCaptureEvent", ctIPCaptureEvent)),
			many(elc("deviceId", ctDeviceID)),
			many(eDetails),
			many(elc("additionalInfo", ctText)),
		)}}
)

// The responses (§2).
var (
	eReportResponse = &element{name: "reportResponse", global: true, doc: "The answer to status, submit, upload, fileinfo and retract.",
		complex: &complexType{model: seq(
			one(el("responseCode", tInt)),
			one(el("responseDescription", tString)),
			opt(el("reportId", tLong)),
			opt(el("fileId", tToken)),
			opt(el("hash", tToken)),
		)}}
	eReportDoneResponse = &element{name: "reportDoneResponse", global: true,
		doc: "The answer to finish. responseDescription is a Guardian addition (absent from the NCMEC XSD) that carries the reason of a failure.",
		complex: &complexType{model: seq(
			one(el("responseCode", tInt)),
			one(el("reportId", tLong)),
			one(elc("files", &complexType{model: seq(many(el("fileId", tString)))})),
			// Last, so that a client reading the NCMEC sequence in
			// order finds reportId and files where it expects them.
			opt(el("responseDescription", tString)),
		)}}
)

// globals lists the top-level elements in the order the XSD declares them.
var globals = []*element{
	eReport,
	eIncidentSummary,
	eInternetDetails,
	eWebPageIncident,
	eEmailIncident,
	eNewsgroupIncident,
	eChatImIncident,
	eOnlineGamingIncident,
	eCellPhoneIncident,
	eNonInternetIncident,
	ePeer2peerIncident,
	eLawEnforcement,
	eReporter,
	ePersonOrUserReported,
	eIntendedRecipient,
	eVictim,
	eFileDetails,
	eDetails,
	eReportResponse,
	eReportDoneResponse,
}
