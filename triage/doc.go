// Package triage reads a parsed report and decides which countries it
// concerns and how urgently it must be handled.
//
// Two functions do it, in this order:
//
//	a := triage.Resolve(doc, files, geo.Embedded()) // jurisdiction: ranked countries with evidence
//	t := triage.Assess(doc, files, a)               // actionability, urgency, label, priority
//
// A third, [Confident], says which of an assessment's countries are sure
// enough to refer the report to without an analyst looking first; routing
// (routing.Service) asks it before deciding.
//
// All three are pure functions of their arguments: no I/O, no clock (times
// are measured from the report's own incident time), no error.
// routing.Service stores the results with the report; [guardian.Assessment]
// and [guardian.Triage] carry every piece of evidence and every rule that
// applied, with weights, so a decision can be explained and audited later.
//
// # Rules
//
// Every weight, factor and threshold is in rules.go, and only there.
// docs/triage.md explains them for operators, with examples; a test fails
// when the two disagree. RulesVersion is stored with each decision and must
// change with any weight.
//
// # What resolution does not guess
//
// Evidence that names no country is kept, with a note, in
// [guardian.Assessment.Unresolved] instead of being dropped or guessed at:
// possible proxies and pseudo country codes (A1, A2, O1, EU, AP) and
// addresses that locate no one (private, documentation, reserved) lower
// the confidence; numbers whose calling code several countries share and
// that match none of them are recorded only. A report with no usable
// evidence gets NoLocation, for an analyst to place.
//
// # Performance
//
// Resolve and Assess together take about 6 µs for the rich reference
// report on one core (BenchmarkResolveAndAssess: some 160,000 reports a
// second, against a goal of 50,000), with the embedded database and no
// store. The dearest part is telephone numbers whose calling code several
// countries share: matching one against the numbering plans costs a few
// microseconds (BenchmarkResolve_ColdPhones), which North American numbers,
// the commonest, avoid through a cache of area codes (see phone.go).
package triage
