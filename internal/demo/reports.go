package demo

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/internal/intaketest"
)

// Reporter is a simulated reporting service: it submits synthetic reports,
// each with its files and their details, through a hub's real intake API,
// one every MinPause to MaxPause, until it has finished Count or ctx ends.
//
// The reports point to countries drawn from the network: mostly its
// partners' countries, then those of its liaison offices, the hub's own,
// countries without any agreement (for the fallback desk), and some with
// no usable location at all. Their addresses are the geolocation table's
// for that country, so that triage finds what the report says.
type Reporter struct {
	Client  *intaketest.Client
	Network *guardian.Network
	Count   int
	// MinPause and MaxPause bound the pause before each report; default
	// 2 and 5 seconds.
	MinPause, MaxPause time.Duration
	// Seed makes the traffic repeatable; 0 picks one.
	Seed   uint64
	Logger *slog.Logger
	// Finished, if set, is called with each report finished.
	Finished func(reportID int64)
}

// noAgreement are countries a report may point to that are likely to have
// no agreement in a network; those the network covers after all are left
// out.
var noAgreement = []string{"BR", "MX", "IN", "PH", "ID", "TH", "VN", "NG", "KE", "ZA", "TR", "EG", "JP", "KR", "PL", "RO"}

// Run submits the reports. It returns nil when all are done or ctx ends;
// a report the hub refuses is logged and the next one tried, so that a
// demo keeps going.
func (r *Reporter) Run(ctx context.Context) error {
	logger := r.Logger
	if logger == nil {
		logger = slog.Default()
	}
	seed := r.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g, err := newGenerator(r.Network, seed)
	if err != nil {
		return err
	}
	minPause, maxPause := r.MinPause, r.MaxPause
	if minPause <= 0 && maxPause <= 0 {
		minPause, maxPause = 2*time.Second, 5*time.Second
	}
	if maxPause < minPause {
		maxPause = minPause
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	sent := 0
	for i := 0; i < r.Count; i++ {
		pause := minPause
		if maxPause > minPause {
			pause += time.Duration(g.rnd.Int64N(int64(maxPause - minPause)))
		}
		timer.Reset(pause)
		select {
		case <-ctx.Done():
			logger.Info("demo reporter stopped", slog.Int("submitted", sent))
			return nil
		case <-timer.C:
		}
		rep := g.report(time.Now())
		id, err := r.submit(ctx, rep)
		if ctx.Err() != nil {
			logger.Info("demo reporter stopped", slog.Int("submitted", sent))
			return nil
		}
		if err != nil {
			logger.Warn("demo report refused", slog.Any("error", err), slog.String("country", rep.country))
			continue
		}
		sent++
		logger.Debug("demo report submitted", slog.Int64("report", id), slog.String("country", rep.country), slog.Int("files", len(rep.files)))
		if r.Finished != nil {
			r.Finished(id)
		}
	}
	logger.Info("demo reporter done", slog.Int("submitted", sent))
	return nil
}

// submit sends one report: submit, each file's upload and details, finish.
func (r *Reporter) submit(ctx context.Context, rep *syntheticReport) (int64, error) {
	id, err := r.Client.Submit(ctx, rep.xml)
	if err != nil {
		return 0, fmt.Errorf("submit: %w", err)
	}
	for _, f := range rep.files {
		resp, err := r.Client.Upload(ctx, id, f.name, bytes.NewReader(f.content))
		if err != nil {
			return id, fmt.Errorf("upload %s: %w", f.name, err)
		}
		if _, err := r.Client.FileInfo(ctx, f.details(id, resp.FileID)); err != nil {
			return id, fmt.Errorf("file details %s: %w", f.name, err)
		}
	}
	if _, err := r.Client.Finish(ctx, id); err != nil {
		return id, fmt.Errorf("finish: %w", err)
	}
	return id, nil
}

// generator draws synthetic reports.
type generator struct {
	rnd                                   *rand.Rand
	partner, liaison, domestic, uncovered []string
	ranges                                map[string][]geo.Range // IPv4 ranges by country
	serial                                int
}

func newGenerator(n *guardian.Network, seed uint64) (*generator, error) {
	g := &generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ranges: map[string][]geo.Range{}}
	if n != nil {
		covered := map[string]bool{}
		for _, ag := range n.Agreements {
			a, ok := n.Agency(ag.Agency)
			if !ok {
				continue
			}
			for _, c := range ag.Countries {
				covered[c] = true
				switch {
				case a.Kind == guardian.AgencyPartner:
					g.partner = append(g.partner, c)
				case a.Kind == guardian.AgencyDomestic:
					g.domestic = append(g.domestic, c)
				case ag.Channel == guardian.ChannelLiaison:
					g.liaison = append(g.liaison, c)
				}
			}
		}
		for _, c := range noAgreement {
			if !covered[c] {
				g.uncovered = append(g.uncovered, c)
			}
		}
		// A country with a partner is the partner's, whatever liaison
		// office also lists it.
		g.liaison = slices.DeleteFunc(g.liaison, func(c string) bool { return slices.Contains(g.partner, c) })
	}
	want := map[string]bool{}
	for _, list := range [][]string{g.partner, g.liaison, g.domestic, g.uncovered} {
		for _, c := range list {
			want[c] = true
		}
	}
	for rg := range geo.Embedded().Ranges() {
		if want[rg.Country] && rg.From.Is4() && len(g.ranges[rg.Country]) < 64 {
			g.ranges[rg.Country] = append(g.ranges[rg.Country], rg)
		}
	}
	// A country the table has no address for cannot be pointed to.
	keep := func(list []string) []string {
		return slices.DeleteFunc(list, func(c string) bool { return len(g.ranges[c]) == 0 })
	}
	g.partner, g.liaison, g.domestic, g.uncovered = keep(g.partner), keep(g.liaison), keep(g.domestic), keep(g.uncovered)
	return g, nil
}

// ipIn returns a public address that the embedded table places in
// country, or a documentation address if it has none.
func (g *generator) ipIn(country string) string {
	rs := g.ranges[country]
	for range 8 {
		if len(rs) == 0 {
			break
		}
		rg := rs[g.rnd.IntN(len(rs))]
		from, to := rg.From.As4(), rg.To.As4()
		lo := uint32(from[0])<<24 | uint32(from[1])<<16 | uint32(from[2])<<8 | uint32(from[3])
		hi := uint32(to[0])<<24 | uint32(to[1])<<16 | uint32(to[2])<<8 | uint32(to[3])
		x := lo + uint32(g.rnd.Uint64N(uint64(hi-lo)+1))
		a := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
		if geo.Classify(a) == geo.Public && geo.Embedded().Country(a) == country {
			return a.String()
		}
	}
	return g.docIP()
}

// docIP returns an address of the documentation ranges (RFC 5737), which
// locate nobody.
func (g *generator) docIP() string {
	prefix := []string{"192.0.2.", "198.51.100.", "203.0.113."}[g.rnd.IntN(3)]
	return fmt.Sprintf("%s%d", prefix, 1+g.rnd.IntN(254))
}

// syntheticReport is one report to submit.
type syntheticReport struct {
	country string // "" for none
	xml     []byte
	files   []syntheticFile
}

type syntheticFile struct {
	name, ip string
	viewed   bool
	meme     bool // a potential meme: triage labels a report of only these informational
	at       time.Time
	content  []byte
}

var (
	firstNames = []string{"Alex", "Sam", "Robin", "Kim", "Jo", "Noa", "Ari", "Lou", "Eden", "Kai", "Rene", "Toni", "Sasha", "Nico", "Mika", "Yuri"}
	lastNames  = []string{"Example", "Sample", "Placeholder", "Fictional", "Testa", "Muster", "Ejemplo", "Exemplo", "Voorbeeld", "Esempio", "Dummy", "Mock"}
	services   = []string{"Example Chat", "Example Photos", "Example Social", "Example Cloud Drive", "Example Video", "Example Forum"}
	incidents  = []string{
		"Child Pornography (possession, manufacture, and distribution)",
		"Child Pornography (possession, manufacture, and distribution)",
		"Child Pornography (possession, manufacture, and distribution)",
		"Online Enticement of Children for Sexual Acts",
		"Unsolicited Obscene Material Sent to a Child",
		"Misleading Words or Digital Images on the Internet",
		"Child Sexual Molestation",
		"Child Sex Trafficking",
	}
	// annotations are drawn for some reports: triage raises their urgency.
	annotations = []string{"sextortion", "csamSolicitation", "sextortion"}
)

// report draws one report made at now.
func (g *generator) report(now time.Time) *syntheticReport {
	g.serial++
	var country, ip string
	located := true
	switch p := g.rnd.IntN(100); {
	case p < 45 && len(g.partner) > 0:
		country = g.pick(g.partner)
	case p < 60 && len(g.liaison) > 0:
		country = g.pick(g.liaison)
	case p < 70 && len(g.domestic) > 0:
		country = g.pick(g.domestic)
	case p < 80 && len(g.uncovered) > 0:
		country = g.pick(g.uncovered)
	case p < 90 && len(g.partner) > 0:
		// The address alone says where: no estimated location.
		country, located = g.pick(g.partner), false
	default:
		located = false
	}
	if country != "" {
		ip = g.ipIn(country)
	} else {
		ip = g.docIP()
	}
	first, last := g.pick(firstNames), g.pick(lastNames)
	tag := fmt.Sprintf("%06d", g.rnd.IntN(1_000_000))
	incident := now.Add(-time.Duration(1+g.rnd.IntN(72)) * time.Hour).UTC()
	d := reportData{
		Incident:    g.pick(incidents),
		Service:     g.pick(services),
		IncidentAt:  incident.Format(time.RFC3339),
		Escalate:    g.rnd.IntN(100) < 6,
		Annotation:  g.annotation(),
		URL:         fmt.Sprintf("https://files.example.com/share/%s-%d", tag, g.serial),
		First:       first,
		Last:        last,
		Email:       fmt.Sprintf("%s.%s.%s@example.org", strings.ToLower(first), strings.ToLower(last), tag),
		ESPID:       "user-" + tag,
		ScreenName:  strings.ToLower(first) + "_" + tag,
		IP:          ip,
		LoginAt:     now.Add(-time.Duration(1+g.rnd.IntN(48)) * time.Hour).UTC().Format(time.RFC3339),
		Country:     country,
		Located:     located && country != "",
		Verified:    g.rnd.IntN(3) > 0,
		LocatedAt:   now.Add(-2 * time.Hour).UTC().Format(time.RFC3339),
		ReporterTag: g.pick([]string{"trust-safety", "safety-team", "legal"}),
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, d); err != nil {
		panic(err) // the template and its data are the package's own
	}
	rep := &syntheticReport{country: country, xml: b.Bytes()}
	for i := range 1 + g.rnd.IntN(3) {
		rep.files = append(rep.files, g.file(i, ip, incident))
	}
	return rep
}

func (g *generator) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

// annotation returns a report annotation for about one report in six.
func (g *generator) annotation() string {
	if g.rnd.IntN(6) > 0 {
		return ""
	}
	return g.pick(annotations)
}

// file draws one file: a generated picture or arbitrary bytes.
func (g *generator) file(i int, ip string, at time.Time) syntheticFile {
	f := syntheticFile{ip: ip, viewed: g.rnd.IntN(4) > 0, at: at.Add(time.Duration(i) * time.Minute)}
	switch g.rnd.IntN(3) {
	case 0:
		f.name, f.content = fmt.Sprintf("IMG_%04d.png", g.rnd.IntN(10000)), g.gradientPNG()
	case 1:
		f.name, f.content = fmt.Sprintf("upload-%04d.png", g.rnd.IntN(10000)), g.noisePNG()
	default:
		f.name = fmt.Sprintf("attachment-%04d.bin", g.rnd.IntN(10000))
		f.content = make([]byte, 512+g.rnd.IntN(8192))
		for j := range f.content {
			f.content[j] = byte(g.rnd.Uint32())
		}
	}
	return f
}

// gradientPNG is a smooth two-colour gradient, a picture of nothing.
func (g *generator) gradientPNG() []byte {
	w, h := 96+g.rnd.IntN(160), 64+g.rnd.IntN(128)
	c0 := [3]int{int(uint8(g.rnd.Uint32())), int(uint8(g.rnd.Uint32())), int(uint8(g.rnd.Uint32()))}
	c1 := [3]int{int(uint8(g.rnd.Uint32())), int(uint8(g.rnd.Uint32())), int(uint8(g.rnd.Uint32()))}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			t := (x + y) * 255 / (w + h - 2)
			p := row[4*x : 4*x+4 : 4*x+4]
			for k := range 3 {
				p[k] = uint8((c0[k]*(255-t) + c1[k]*t) / 255)
			}
			p[3] = 255
		}
	}
	return encodePNG(img)
}

// noisePNG is random grey blocks, a picture of nothing either.
func (g *generator) noisePNG() []byte {
	w, h, cell := 64+g.rnd.IntN(96), 64+g.rnd.IntN(96), 4+g.rnd.IntN(8)
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y += cell {
		for x := 0; x < w; x += cell {
			v := uint8(g.rnd.Uint32())
			for dy := 0; dy < cell && y+dy < h; dy++ {
				row := img.Pix[(y+dy)*img.Stride:]
				for dx := 0; dx < cell && x+dx < w; dx++ {
					row[x+dx] = v
				}
			}
		}
	}
	return encodePNG(img)
}

// pngEncoder keeps its compressors for reuse: a new one allocates some
// 600 KiB, which made it the simulator's largest cost after compressing
// itself. The images encode exactly as with png.Encode.
var pngEncoder = png.Encoder{BufferPool: &pngBuffers{}}

type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	eb, _ := b.p.Get().(*png.EncoderBuffer)
	return eb
}

func (b *pngBuffers) Put(eb *png.EncoderBuffer) { b.p.Put(eb) }

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := pngEncoder.Encode(&b, img); err != nil {
		panic(err) // an in-memory image always encodes
	}
	return b.Bytes()
}

// details is the file's <fileDetails>: its name, whether the service
// viewed it, and the address it was uploaded from.
func (f syntheticFile) details(reportID int64, fileID string) []byte {
	var b bytes.Buffer
	err := detailsTemplate.Execute(&b, map[string]any{"ReportID": reportID, "FileID": fileID, "Name": f.name,
		"Viewed": f.viewed, "Meme": f.meme, "IP": f.ip, "At": f.at.UTC().Format(time.RFC3339)})
	if err != nil {
		panic(err)
	}
	return b.Bytes()
}

type reportData struct {
	Incident, Service, IncidentAt, URL                 string
	Escalate                                           bool
	Annotation                                         string
	First, Last, Email, ESPID, ScreenName, IP, LoginAt string
	Country                                            string
	Located, Verified                                  bool
	LocatedAt, ReporterTag                             string
	// Set by Traffic only; zero values draw the demo's reports.
	Thin, Batched      bool   // no reported user at all; a batch of potential memes
	Phone, CallingCode string // the reported user's phone number, national digits and +code
}

// The templates follow the element order of the CyberTipline schema; the
// values are the generator's own, so text/template's lack of escaping
// cannot be abused (none holds <, > or &).
var reportTemplate = template.Must(template.New("report").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
{{- if .Batched}}
  <batchedReport reason="VIRAL_POTENTIAL_MEME"/>
{{- end}}
  <incidentSummary>
    <incidentType>{{.Incident}}</incidentType>
    <platform>{{.Service}}</platform>
{{- if .Escalate}}
    <escalateToHighPriority>Synthetic demo report: the reported user proposed an in-person meeting.</escalateToHighPriority>
{{- end}}
{{- if .Annotation}}
    <reportAnnotations>
      <{{.Annotation}}/>
    </reportAnnotations>
{{- end}}
    <incidentDateTime>{{.IncidentAt}}</incidentDateTime>
  </incidentSummary>
  <internetDetails>
    <webPageIncident>
      <url>{{.URL}}</url>
    </webPageIncident>
  </internetDetails>
  <reporter>
    <reportingPerson>
      <firstName>Jordan</firstName>
      <lastName>Example</lastName>
      <email>{{.ReporterTag}}@example.com</email>
    </reportingPerson>
  </reporter>
{{- if not .Thin}}
  <personOrUserReported>
    <personOrUserReportedPerson>
      <firstName>{{.First}}</firstName>
      <lastName>{{.Last}}</lastName>
{{- if .Phone}}
      <phone type="Mobile" countryCallingCode="{{.CallingCode}}">{{.Phone}}</phone>
{{- end}}
      <email>{{.Email}}</email>
    </personOrUserReportedPerson>
    <espIdentifier>{{.ESPID}}</espIdentifier>
    <espService>{{.Service}}</espService>
    <screenName>{{.ScreenName}}</screenName>
    <ipCaptureEvent>
      <ipAddress>{{.IP}}</ipAddress>
      <eventName>Login</eventName>
      <dateTime>{{.LoginAt}}</dateTime>
    </ipCaptureEvent>
{{- if .Located}}
    <estimatedLocation verified="{{.Verified}}" timestamp="{{.LocatedAt}}">
      <countryCode>{{.Country}}</countryCode>
    </estimatedLocation>
{{- end}}
    <additionalInfo>Synthetic report of guardian demo. No real person, account or address is described.</additionalInfo>
  </personOrUserReported>
{{- end}}
</report>
`))

var detailsTemplate = template.Must(template.New("details").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<fileDetails>
  <reportId>{{.ReportID}}</reportId>
  <fileId>{{.FileID}}</fileId>
  <originalFileName>{{.Name}}</originalFileName>
  <fileViewedByEsp>{{.Viewed}}</fileViewedByEsp>
  <publiclyAvailable>false</publiclyAvailable>
{{- if .Meme}}
  <potentialMeme>true</potentialMeme>
{{- end}}
  <ipCaptureEvent>
    <ipAddress>{{.IP}}</ipAddress>
    <eventName>Upload</eventName>
    <dateTime>{{.At}}</dateTime>
  </ipCaptureEvent>
</fileDetails>
`))

// Traffic draws synthetic reports shaped like a reporting service's real
// traffic, for load generators such as guardian simulate: countries from a
// caller's distribution, about half of them informational (thin reports
// with nothing to act on, and batches of potential memes), a small share
// escalated, one to several files, and reported users drawn from a pool
// with a Zipf-like law, so that the same accounts recur across reports as
// real ones do. Report i is drawn from the seed and i alone, so the same
// options and seed draw the same reports, and several goroutines may draw
// reports at once.
type Traffic struct {
	ranges map[string][]geo.Range // read only once made
	opts   TrafficOptions
}

// TrafficOptions shape a [Traffic].
type TrafficOptions struct {
	Seed uint64
	// Countries are the countries reports may point to, and Country draws
	// one of them with the randomness it is given. Countries the embedded
	// geolocation table has no address for are left out.
	Countries []string
	Country   func(r *rand.Rand) string
	// CallingCode returns a country's calling code without "+" ("91");
	// "" leaves the reported user without a phone number.
	CallingCode func(country string) string
	// Suspects is the size of each country's pool of reported users;
	// default 10000.
	Suspects int
	// Informational is the share of reports that carry nothing to act on
	// (half of them thin, half potential memes); default 0.5.
	Informational float64
	// Escalated is the share of reports the service escalates; default
	// 0.02.
	Escalated float64
	// MaxFiles bounds the files of a report; default 4.
	MaxFiles int
}

// TrafficReport is one report drawn by a [Traffic].
type TrafficReport struct {
	Country string // "" when the report points nowhere
	// Kind is "thin", "meme", "escalated" or "referral": what the
	// generator meant triage to make of it.
	Kind string
	// Suspect identifies the reported user in the pool ("IN-17": the
	// 18th most active account of India's); "" for none.
	Suspect string
	XML     []byte
	Files   []TrafficFile
}

// TrafficFile is one file of a [TrafficReport].
type TrafficFile struct {
	Name    string
	Content []byte
	f       syntheticFile
}

// Details returns the file's <fileDetails> for the report and the file
// id the hub gave it.
func (f TrafficFile) Details(reportID int64, fileID string) []byte {
	return f.f.details(reportID, fileID)
}

// NewTraffic returns a generator of synthetic traffic.
func NewTraffic(o TrafficOptions) (*Traffic, error) {
	if o.Country == nil || len(o.Countries) == 0 {
		return nil, fmt.Errorf("traffic: no countries to draw from")
	}
	if o.Suspects <= 0 {
		o.Suspects = 10000
	}
	if o.Informational <= 0 {
		o.Informational = 0.5
	}
	if o.Escalated <= 0 {
		o.Escalated = 0.02
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 4
	}
	g, err := newGenerator(nil, o.Seed)
	if err != nil {
		return nil, err
	}
	g.loadRanges(o.Countries)
	return &Traffic{ranges: g.ranges, opts: o}, nil
}

// HasAddresses reports whether the geolocation table gave addresses for
// country, so that reports can point there.
func (t *Traffic) HasAddresses(country string) bool { return len(t.ranges[country]) > 0 }

// loadRanges keeps up to 64 IPv4 ranges of each country for ipIn.
func (g *generator) loadRanges(countries []string) {
	want := map[string]bool{}
	for _, c := range countries {
		if len(g.ranges[c]) == 0 {
			want[c] = true
		}
	}
	for rg := range geo.Embedded().Ranges() {
		if want[rg.Country] && rg.From.Is4() && len(g.ranges[rg.Country]) < 64 {
			g.ranges[rg.Country] = append(g.ranges[rg.Country], rg)
		}
	}
}

// suspect is one reported user of a country's pool: the same country
// and index always give the same account, drawn from the seed, the
// country and the index alone, so that the pool needs no memory.
type suspect struct {
	id                      string
	first, last, service    string
	tag, phone, callingCode string
}

func (t *Traffic) suspect(country string, i int) suspect {
	h := fnv.New64a()
	h.Write([]byte(country))
	r := rand.New(rand.NewPCG(t.opts.Seed^h.Sum64(), uint64(i)))
	s := suspect{id: fmt.Sprintf("%s-%d", country, i), first: firstNames[r.IntN(len(firstNames))], last: lastNames[r.IntN(len(lastNames))],
		service: services[r.IntN(len(services))], tag: fmt.Sprintf("%s%06d", strings.ToLower(country), r.IntN(1_000_000))}
	if t.opts.CallingCode != nil && country != "" {
		if cc := t.opts.CallingCode(country); cc != "" {
			s.callingCode, s.phone = "+"+cc, FictionalPhone(country, r)
		}
	}
	return s
}

// country draws a report's country; "" if the geolocation table has no
// address for the ones drawn.
func (t *Traffic) country(r *rand.Rand) string {
	for range 8 {
		if c := t.opts.Country(r); len(t.ranges[c]) > 0 {
			return c
		}
	}
	return ""
}

// FictionalPhone returns national digits for a phone number of country
// that reach nobody: the range a regulator reserves for fiction where one
// is documented (the NANP's 555-0100 to 555-0199, Ofcom's 07700 900000 to
// 900999, ACMA's 02 5550 xxxx), and otherwise invented digits, which
// are not promised to be unassigned.
func FictionalPhone(country string, r *rand.Rand) string {
	switch country {
	case "US", "CA", "PR", "GU", "VI", "AS", "MP", "JM", "DO":
		areas := []string{"201", "202", "212", "305", "312", "415", "613", "416", "787", "876"}
		return fmt.Sprintf("%s55501%02d", areas[r.IntN(len(areas))], r.IntN(100))
	case "GB":
		return fmt.Sprintf("7700900%03d", r.IntN(1000))
	case "AU":
		return fmt.Sprintf("25550%04d", r.IntN(10000))
	}
	return fmt.Sprintf("9%09d", r.IntN(1_000_000_000))
}

// emailDomain is an address's domain for country: always under
// example.net (RFC 2606), with the country as a subdomain.
func emailDomain(country string) string {
	if country == "" {
		return "example.net"
	}
	return strings.ToLower(country) + ".example.net"
}

// Report draws report i (from 0), made at now.
func (t *Traffic) Report(i uint64, now time.Time) *TrafficReport {
	g := &generator{rnd: rand.New(rand.NewPCG(t.opts.Seed, i)), ranges: t.ranges, serial: int(i) + 1}
	kind := "referral"
	switch p := g.rnd.Float64(); {
	case p < t.opts.Informational/2:
		kind = "thin"
	case p < t.opts.Informational:
		kind = "meme"
	case p < t.opts.Informational+t.opts.Escalated:
		kind = "escalated"
	}
	incident := now.Add(-time.Duration(1+g.rnd.IntN(72)) * time.Hour).UTC()
	d := reportData{
		Incident:    g.pick(incidents),
		Service:     g.pick(services),
		IncidentAt:  incident.Format(time.RFC3339),
		URL:         fmt.Sprintf("https://files.example.com/share/%06d-%d", g.rnd.IntN(1_000_000), g.serial),
		LoginAt:     now.Add(-time.Duration(1+g.rnd.IntN(48)) * time.Hour).UTC().Format(time.RFC3339),
		LocatedAt:   now.Add(-2 * time.Hour).UTC().Format(time.RFC3339),
		ReporterTag: g.pick([]string{"trust-safety", "safety-team", "legal"}),
	}
	rep := &TrafficReport{Kind: kind}
	if kind == "thin" {
		// Nothing to act on: no reported user, no location, no file.
		d.Thin = true
		rep.XML = t.render(d)
		return rep
	}
	country, idx := t.country(g.rnd), 0
	if t.opts.Suspects > 1 {
		// s = 1.1 makes a few accounts of each country very frequent and
		// most rare: in a pool of 10,000, the busiest is in about one
		// report of the country's ten.
		idx = int(rand.NewZipf(g.rnd, 1.1, 1, uint64(t.opts.Suspects-1)).Uint64())
	}
	s := t.suspect(country, idx)
	rep.Suspect, rep.Country = s.id, country
	ip := g.docIP()
	if country != "" {
		ip = g.ipIn(country)
	}
	d.Service, d.First, d.Last = s.service, s.first, s.last
	d.Email = fmt.Sprintf("%s.%s.%s@%s", strings.ToLower(s.first), strings.ToLower(s.last), s.tag, emailDomain(country))
	d.ESPID, d.ScreenName = "user-"+s.tag, strings.ToLower(s.first)+"_"+s.tag
	d.Phone, d.CallingCode = s.phone, s.callingCode
	d.IP, d.Country = ip, country
	d.Located = country != "" && g.rnd.IntN(10) < 7
	d.Verified = g.rnd.IntN(3) > 0
	switch kind {
	case "meme":
		d.Batched = g.rnd.IntN(3) == 0
	case "escalated":
		d.Escalate = true
		d.Annotation = g.annotation()
	default:
		d.Annotation = g.annotation()
	}
	rep.XML = t.render(d)
	n := 1
	for n < t.opts.MaxFiles && g.rnd.IntN(2) == 0 {
		n++
	}
	for i := range n {
		f := g.file(i, ip, incident)
		f.meme = kind == "meme"
		rep.Files = append(rep.Files, TrafficFile{Name: f.name, Content: f.content, f: f})
	}
	return rep
}

func (t *Traffic) render(d reportData) []byte {
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, d); err != nil {
		panic(err) // the template and its data are the package's own
	}
	return b.Bytes()
}
