package main

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestNPMClient drives the npm package cybertipline-tools, unmodified except
// for its base URL, against a live "guardian serve": the happy path and the
// error paths, then checks what the hub stored.
func TestNPMClient(t *testing.T) {
	dir, err := filepath.Abs("testdata/npm-client")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if requireAll() {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "cybertipline-tools")); err != nil {
		if requireAll() {
			t.Fatalf("cybertipline-tools is not installed: run 'npm ci' in %s", dir)
		}
		t.Skipf("cybertipline-tools is not installed: run 'npm ci' in %s", dir)
	}

	data := t.TempDir()
	user, password := addReporter(t, "npm-reporter", "--data", data)
	h := StartHub(t, "--data", data)

	cmd := exec.Command(node, "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "GUARDIAN_URL="+h.URL+"/ispws", "GUARDIAN_USER="+user, "GUARDIAN_PASSWORD="+password)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s\nhub log:\n%s", err, out, h.stderr.String())
	}

	type step struct {
		Step      string         `json:"step"`
		OK        bool           `json:"ok"`
		Error     string         `json:"error"`
		RequestID string         `json:"requestId"`
		Data      map[string]any `json:"data"`
	}
	steps := map[string]step{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var s step
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("client output %q: %v", sc.Text(), err)
		}
		steps[s.Step] = s
	}
	get := func(name string) step {
		t.Helper()
		s, ok := steps[name]
		if !ok {
			t.Fatalf("client printed no step %q; output:\n%s", name, out)
		}
		return s
	}
	mustOK := func(name string) step {
		t.Helper()
		s := get(name)
		if !s.OK {
			t.Fatalf("step %s failed: %s\nhub log:\n%s", name, s.Error, h.stderr.String())
		}
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s.RequestID) {
			t.Errorf("step %s: Request-ID %q is not a UUID", name, s.RequestID)
		}
		return s
	}
	mustFail := func(name, wantInError string) {
		t.Helper()
		s := get(name)
		if s.OK {
			t.Errorf("step %s succeeded; want an error containing %q", name, wantInError)
		} else if !strings.Contains(s.Error, wantInError) {
			t.Errorf("step %s: error %q does not contain %q", name, s.Error, wantInError)
		}
	}

	if got, want := mustOK("status").Data["responseDescription"], "Remote User : "+user+", Remote Ip : 127.0.0.1"; got != want {
		t.Errorf("status description = %q, want %q", got, want)
	}
	mustFail("status-wrong-password", "401")

	reportID := int64(mustOK("submit").Data["reportId"].(float64))
	up := mustOK("upload")
	fileID, _ := up.Data["fileId"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(fileID) {
		t.Errorf("fileId = %q, want 32 lower-case hex", fileID)
	}
	content := make([]byte, 100*1024)
	for i := range content {
		content[i] = byte(i*31 + 7)
	}
	md5sum := md5.Sum(content)
	if got := up.Data["hash"]; got != hex.EncodeToString(md5sum[:]) {
		t.Errorf("upload hash = %v, want the MD5 %x", got, md5sum)
	}
	mustOK("fileinfo")
	fin := mustOK("finish")
	if files, _ := fin.Data["files"].(map[string]any); files["fileId"] != fileID {
		t.Errorf("finish files = %v, want fileId %s", fin.Data["files"], fileID)
	}
	// The client treats 5102 from /finish as "already in the desired state".
	if got := mustOK("finish-again").Data["responseCode"]; got != float64(5102) {
		t.Errorf("finish again: responseCode %v, want 5102", got)
	}
	// Application errors come with HTTP 200, as the real service sends
	// them. This client parses a 200 answer as a success document first, so
	// where the error answer cannot carry the success fields (no fileId for
	// a refused upload, no reportId for a refused submit) it throws about
	// the missing field rather than the code. The audit events below prove
	// which code the hub answered.
	mustFail("upload-after-finish", `missing required "fileId"`)
	mustFail("submit-enticement-typo", `missing required "reportId"`)
	mustFail("finish-unknown", "Report does not exist")
	second := int64(mustOK("submit-second").Data["reportId"].(float64))
	mustFail("fileinfo-unknown-file", "File does not exist")
	mustOK("retract")
	mustFail("upload-after-retract", `missing required "fileId"`)

	// What the hub kept, read with the CLI on the same store.
	h.Stop(t)
	var shown struct {
		State string `json:"state"`
		Files []struct {
			ID      string          `json:"id"`
			Name    string          `json:"name"`
			Size    int64           `json:"size"`
			MD5     string          `json:"md5"`
			SHA256  string          `json:"sha256"`
			Details json.RawMessage `json:"details"`
		} `json:"files"`
		Document json.RawMessage `json:"document"`
		Events   []struct {
			Action  string `json:"action"`
			Outcome string `json:"outcome"`
			Reason  string `json:"reason"`
		} `json:"events"`
	}
	js := MustRunGuardian(t, "report", "show", strconv.FormatInt(reportID, 10), "--data", data, "--justification", "test: check what the hub kept")
	if err := json.Unmarshal([]byte(js), &shown); err != nil {
		t.Fatalf("report show: %v\n%s", err, js)
	}
	if shown.State != "finished" {
		t.Errorf("state = %q, want finished", shown.State)
	}
	sha := sha256.Sum256(content)
	if len(shown.Files) != 1 || shown.Files[0].ID != fileID || shown.Files[0].Size != int64(len(content)) ||
		shown.Files[0].SHA256 != hex.EncodeToString(sha[:]) || shown.Files[0].Name != "IMG_0001.jpg" || len(shown.Files[0].Details) == 0 {
		t.Errorf("files = %+v", shown.Files)
	}
	if !strings.Contains(string(shown.Document), "https://www.example.com/p/npm-000001") {
		t.Errorf("document does not hold the submitted URL: %s", shown.Document)
	}
	var actions []string
	for _, e := range shown.Events {
		actions = append(actions, e.Action+":"+e.Outcome+":"+e.Reason)
	}
	for _, want := range []string{"report.submit:success:", "file.upload:success:", "file.details:success:", "report.finish:success:", "report.finish:failure:5102", "file.upload:failure:5102"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit events of report %d %v lack %s", reportID, actions, want)
		}
	}
	js = MustRunGuardian(t, "report", "show", strconv.FormatInt(second, 10), "--data", data, "--justification", "test: check what the hub kept")
	if _, err := runGuardian("report", "show", strconv.FormatInt(second, 10), "--data", data); err == nil {
		t.Errorf("report show without --justification succeeded")
	}
	for _, want := range []string{`"state": "retracted"`, `"reason": "5002"`, `"reason": "5101"`} {
		if !strings.Contains(js, want) {
			t.Errorf("report %d lacks %s:\n%s", second, want, js)
		}
	}
	// The refused submit was answered with 4110 (from the request log).
	if !strings.Contains(h.stderr.String(), "code=4110") {
		t.Errorf("the hub's request log has no 4110 for the misspelt incident type")
	}
}
