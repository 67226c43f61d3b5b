package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian/api"
)

// staticFiles are the pages' CSS, JavaScript and images, read once at
// Open, each with its gzip form and a version for its URL.
type staticFiles struct {
	files map[string]*staticFile
	urls  map[string]string // name → /static/name?v=version
}

type staticFile struct {
	data, gz []byte
	ctype    string
	version  string
}

func loadStatic(fsys fs.FS) (staticFiles, error) {
	s := staticFiles{files: make(map[string]*staticFile), urls: make(map[string]string)}
	names, err := fs.Glob(fsys, "*")
	if err != nil {
		return s, err
	}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return s, err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(data)
		_ = zw.Close()
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		f := &staticFile{data: data, gz: gz.Bytes(), ctype: ctype, version: hex.EncodeToString(sum[:6])}
		s.files[name] = f
		s.urls[name] = "/static/" + name + "?v=" + f.version
	}
	return s, nil
}

// serveStatic serves a static file: for a year when the URL names its
// version (the pages always do), compressed when the browser takes gzip.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	f := h.static.files[r.PathValue("name")]
	if f == nil {
		return h.notFound(w, r, c)
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	if r.URL.Query().Get("v") == f.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("ETag", `"`+f.version+`"`)
	hd.Add("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == `"`+f.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body := f.data
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		hd.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// serveFavicon answers the browser's own request for /favicon.ico.
func (h *Handler) serveFavicon(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	r.SetPathValue("name", "favicon.png")
	r.URL.RawQuery = "v=" + h.static.files["favicon.png"].version
	return h.serveStatic(w, r, c)
}
