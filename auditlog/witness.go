package auditlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/guardian-network/guardian/auditlog/format"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrInconsistent is wrapped by the errors of [Witness] that prove the hub
// misbehaved: the log it serves now does not extend the one it signed
// before (it was rewritten, or shrank). Keep both checkpoints: together
// they are the evidence.
var ErrInconsistent = errors.New("the hub's audit log is not consistent with the checkpoint saved earlier")

// Limits on what Witness reads from a hub.
const (
	maxCheckpointSize = 64 << 10
	maxTileSize       = format.TileWidth * tlog.HashSize
)

// Witness checks a remote hub's audit log against a checkpoint saved from
// it earlier: it fetches the current checkpoint from baseURL (the hub's
// /audit URL) and checks its signature with verifierKey; then, if saved is
// not nil, it checks saved's signature too and proves, from the public hash
// tiles, that the current tree extends the saved one. It returns the
// current signed checkpoint, to be saved for the next run; saved nil is a
// first run, which only checks the signature.
//
// A partner running it daily is a witness: a hub that rewrote or truncated
// its log after that partner saw a checkpoint cannot hide it. Errors that
// prove this wrap [ErrInconsistent]; others are failures to fetch or
// malformed responses. A nil client means [http.DefaultClient].
func Witness(ctx context.Context, client *http.Client, baseURL, verifierKey string, saved []byte) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	baseURL = strings.TrimSuffix(baseURL, "/")
	var old format.Checkpoint
	if saved != nil {
		var err error
		if old, err = format.OpenCheckpoint(saved, verifierKey); err != nil {
			return nil, fmt.Errorf("saved checkpoint: %w", err)
		}
	}
	signed, err := fetch(ctx, client, baseURL+"/checkpoint", maxCheckpointSize)
	if err != nil {
		return nil, err
	}
	cur, err := format.OpenCheckpoint(signed, verifierKey)
	if err != nil {
		return nil, fmt.Errorf("current checkpoint: %w", err)
	}
	if saved == nil {
		return signed, nil
	}
	switch {
	case cur.TreeSize < old.TreeSize:
		return nil, fmt.Errorf("tree size %d, smaller than the %d saved: %w", cur.TreeSize, old.TreeSize, ErrInconsistent)
	case cur.TreeSize == old.TreeSize:
		if cur.RootHash != old.RootHash {
			return nil, fmt.Errorf("two root hashes for tree size %d: %w", cur.TreeSize, ErrInconsistent)
		}
		return signed, nil
	case old.TreeSize == 0:
		return signed, nil
	}
	// The tile reader authenticates every tile against the current
	// checkpoint before ProveTree sees a hash; the proof then ties the
	// saved checkpoint to it.
	tr := &httpTileReader{ctx: ctx, client: client, baseURL: baseURL}
	hr := tlog.TileHashReader(tlog.Tree{N: cur.TreeSize, Hash: cur.RootHash}, tr)
	proof, err := tlog.ProveTree(cur.TreeSize, old.TreeSize, hr)
	if err != nil {
		if tr.err != nil {
			return nil, tr.err // a fetch failed
		}
		return nil, fmt.Errorf("tiles do not match the current checkpoint: %w", err)
	}
	if err := tlog.CheckTree(proof, cur.TreeSize, cur.RootHash, old.TreeSize, old.RootHash); err != nil {
		return nil, fmt.Errorf("tree of size %d does not extend the saved tree of size %d: %w", cur.TreeSize, old.TreeSize, ErrInconsistent)
	}
	return signed, nil
}

// httpTileReader is a [tlog.TileReader] that fetches hash tiles from a hub
// by their tlog-tiles paths.
type httpTileReader struct {
	ctx     context.Context
	client  *http.Client
	baseURL string
	err     error // the first fetch error
}

func (r *httpTileReader) Height() int { return format.TileHeight }

func (r *httpTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := format.TilePath{Level: t.L, Index: t.N}
		if t.W < format.TileWidth {
			p.Width = t.W
		}
		b, err := fetch(r.ctx, r.client, r.baseURL+"/tile/"+p.String(), maxTileSize)
		if err != nil {
			r.err = err
			return nil, err
		}
		if len(b) != t.W*tlog.HashSize {
			r.err = fmt.Errorf("tile %s: %d bytes, want %d", p, len(b), t.W*tlog.HashSize)
			return nil, r.err
		}
		data[i] = b
	}
	return data, nil
}

// SaveTiles does nothing: Witness keeps only the checkpoint.
func (r *httpTileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// fetch GETs url and returns its body, of at most limit bytes.
func fetch(ctx context.Context, client *http.Client, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", url, limit)
	}
	return b, nil
}
