package api_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/guardian-network/guardian/api"
)

// contract checks answers against the OpenAPI document: the path and
// method are documented, the status is one of the operation's, and the
// body has the documented media type and, for JSON, validates against
// the documented schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

const docURL = "https://guardian.test/api/v1/openapi.json"

func mustContract(tb testing.TB) *contract {
	tb.Helper()
	contractOnce.Do(func() {
		var doc map[string]any
		if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
			contractErr = err
			return
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI()))
		if err != nil {
			contractErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(docURL, inst); err != nil {
			contractErr = err
			return
		}
		sharedContract = &contract{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	})
	if contractErr != nil {
		tb.Fatalf("load the OpenAPI document: %v", contractErr)
	}
	return sharedContract
}

var (
	contractOnce   sync.Once
	contractErr    error
	sharedContract *contract
)

func (c *contract) paths() map[string]any { return c.doc["paths"].(map[string]any) }

// template returns the documented path that path (under the prefix)
// matches: the same number of segments, each equal or a {parameter}.
func (c *contract) template(path string) (string, bool) {
	segs := strings.Split(path, "/")
	for tpl := range c.paths() {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		ok := true
		for i := range ts {
			if ts[i] != segs[i] && !(strings.HasPrefix(ts[i], "{") && segs[i] != "") {
				ok = false
				break
			}
		}
		if ok {
			return tpl, true
		}
	}
	return "", false
}

// resolve follows a local $ref of the document.
func (c *contract) resolve(v map[string]any) map[string]any {
	for {
		ref, ok := v["$ref"].(string)
		if !ok || len(v) != 1 {
			return v
		}
		var cur any = c.doc
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")]
		}
		v = cur.(map[string]any)
	}
}

func (c *contract) schema(tb testing.TB, loc string) *jsonschema.Schema {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[loc]; ok {
		return s
	}
	s, err := c.compiler.Compile(loc)
	if err != nil {
		tb.Fatalf("compile %s: %v", loc, err)
	}
	c.schemas[loc] = s
	return s
}

// pointer is the JSON pointer of a document location, as a URL fragment.
func pointer(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(p))
	}
	return b.String()
}

// check checks one answer; path is under the prefix, without the query.
func (c *contract) check(t testing.TB, method, path string, resp *http.Response, body []byte) {
	t.Helper()
	tpl, ok := c.template(path)
	if !ok {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			c.checkError(t, resp, body)
			return
		}
		t.Fatalf("%s %s: path not in the OpenAPI document (answered %d)", method, path, resp.StatusCode)
	}
	opv, ok := c.paths()[tpl].(map[string]any)[strings.ToLower(method)]
	if !ok {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			c.checkError(t, resp, body)
			return
		}
		t.Fatalf("%s %s: method not in the OpenAPI document", method, tpl)
	}
	status := strconv.Itoa(resp.StatusCode)
	rv, ok := opv.(map[string]any)["responses"].(map[string]any)[status]
	if !ok {
		t.Fatalf("%s %s: status %s is not documented: %s", method, tpl, status, body)
	}
	r := c.resolve(rv.(map[string]any))
	content, _ := r["content"].(map[string]any)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if len(content) == 0 {
		if len(body) != 0 {
			t.Fatalf("%s %s %s: documented without a body, got %q", method, tpl, status, body)
		}
		return
	}
	mc, ok := content[mt].(map[string]any)
	if !ok {
		t.Fatalf("%s %s %s: Content-Type %q is not documented", method, tpl, status, mt)
	}
	if mt != "application/json" {
		return
	}
	sch := mc["schema"].(map[string]any)
	loc := docURL + "#" + pointer("paths", tpl, strings.ToLower(method), "responses", status, "content", mt, "schema")
	if ref, ok := sch["$ref"].(string); ok && len(sch) == 1 {
		loc = docURL + ref
	} else if _, isRef := rv.(map[string]any)["$ref"]; isRef {
		loc = docURL + rv.(map[string]any)["$ref"].(string) + pointer("content", mt, "schema")
	}
	c.validate(t, loc, body, method+" "+tpl+" "+status)
}

func (c *contract) checkError(t testing.TB, resp *http.Response, body []byte) {
	t.Helper()
	c.validate(t, docURL+"#/components/schemas/Error", body, "error "+strconv.Itoa(resp.StatusCode))
}

func (c *contract) validate(t testing.TB, loc string, body []byte, what string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: body is not JSON: %v: %s", what, err, body)
	}
	if err := c.schema(t, loc).Validate(inst); err != nil {
		t.Fatalf("%s: body does not match the OpenAPI document: %v\n%s", what, err, body)
	}
}

// TestOpenAPIRoutes holds the route table and the document together: every
// route registered is documented, and every documented operation is
// served.
func TestOpenAPIRoutes(t *testing.T) {
	c := mustContract(t)
	var documented []string
	for path, v := range c.paths() {
		for method := range v.(map[string]any) {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := api.Routes()
	sort.Strings(documented)
	sort.Strings(served)
	if !reflect.DeepEqual(documented, served) {
		for _, d := range documented {
			if !slices.Contains(served, d) {
				t.Errorf("documented but not served: %s", d)
			}
		}
		for _, s := range served {
			if !slices.Contains(documented, s) {
				t.Errorf("served but not documented: %s", s)
			}
		}
	}
	if c.doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", c.doc["openapi"])
	}
}

// TestOpenAPISchemasCompile compiles every schema of the document, so that
// one no test answer reaches is still checked for mistakes, and checks
// that the validator refuses what it should.
func TestOpenAPISchemasCompile(t *testing.T) {
	c := mustContract(t)
	for name := range c.doc["components"].(map[string]any)["schemas"].(map[string]any) {
		c.schema(t, docURL+"#/components/schemas/"+name)
	}
	errSchema := c.schema(t, docURL+"#/components/schemas/Error")
	for _, bad := range []string{`{}`, `{"error":{"code":"x"}}`, `{"error":{"code":"x","message":"y","requestId":"z","extra":1}}`} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if errSchema.Validate(inst) == nil {
			t.Errorf("Error schema accepts %s", bad)
		}
	}
	ref := c.schema(t, docURL+"#/components/schemas/Referral")
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"id":1}`))
	if ref.Validate(inst) == nil {
		t.Error("Referral schema accepts a referral without its required fields")
	}
}
