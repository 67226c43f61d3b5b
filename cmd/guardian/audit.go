package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/auditlog/format"
)

// auditKeyFile is the name of the checkpoint signing key in --data.
const auditKeyFile = "audit-signing.key"

// AuditCommand verifies the audit log and shows its key.
type AuditCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
}

// Run handles "audit verify" and "audit key".
func (c *AuditCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{cmd: "audit", msg: "usage: guardian audit verify|key [flags]"}
	}
	switch args[0] {
	case "verify":
		return c.verify(ctx, args[1:])
	case "key":
		return c.key(args[1:])
	}
	return usageError{cmd: "audit", msg: fmt.Sprintf("unknown audit command %q (verify or key)", args[0])}
}

// key prints the verifier key that partners use to check checkpoints.
func (c *AuditCommand) key(args []string) error {
	fs := flag.NewFlagSet("guardian audit key", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	vkey, err := readVerifierKey(filepath.Join(c.Store.Data, auditKeyFile))
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, vkey)
	return nil
}

func (c *AuditCommand) verify(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("guardian audit verify", flag.ContinueOnError)
	fset.SetOutput(c.Stderr)
	c.Store.register(fset)
	url := fset.String("url", "", "check a remote hub's log at this base URL (e.g. https://hub.example.org/audit) instead of a local store")
	cpFile := fset.String("checkpoint", "", "with --url: file holding the checkpoint saved by the previous run; the new one is saved there")
	key := fset.String("key", "", "verifier key of the log's checkpoints (default: the key in --data, or, with --url, the one saved beside --checkpoint)")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return usageError{cmd: "audit verify", msg: fmt.Sprintf("unexpected argument %q", fset.Arg(0))}
	}
	if *url != "" {
		return c.witness(ctx, *url, *cpFile, *key)
	}
	if *cpFile != "" {
		return usageError{cmd: "audit verify", msg: "--checkpoint goes with --url"}
	}

	vkey := *key
	if vkey == "" {
		var err error
		if vkey, err = readVerifierKey(filepath.Join(c.Store.Data, auditKeyFile)); err != nil {
			return fmt.Errorf("%w\n(give the log's verifier key with --key)", err)
		}
	}
	store, err := c.Store.open(ctx, false, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	rep, err := auditlog.Verify(ctx, store, vkey)
	var ve *auditlog.VerifyError
	if errors.As(err, &ve) {
		if ve.Index >= 0 {
			return fmt.Errorf("audit log differs at index %d: %s", ve.Index, ve.Reason)
		}
		return fmt.Errorf("audit log checkpoint is not valid: %s", ve.Reason)
	} else if err != nil {
		return fmt.Errorf("verify audit log: %w", err)
	}
	fmt.Fprintf(c.Stdout, "ok: %d entries verified against the signed checkpoint (root %x…) in %s\n",
		rep.Checkpoint.TreeSize, rep.Checkpoint.RootHash[:8], rep.Duration.Round(time.Millisecond))
	return nil
}

// witness checks a remote hub's current checkpoint against the saved one
// and saves the new one: what a partner runs daily.
func (c *AuditCommand) witness(ctx context.Context, url, cpFile, key string) error {
	if cpFile == "" {
		return usageError{cmd: "audit verify", msg: "--url needs --checkpoint FILE (where the last checkpoint seen is kept)"}
	}
	keyFile := cpFile + ".key"
	if key == "" {
		b, err := os.ReadFile(keyFile)
		if errors.Is(err, fs.ErrNotExist) {
			return usageError{cmd: "audit verify", msg: "the first run needs --key (the verifier key the hub's operator gave you)"}
		} else if err != nil {
			return err
		}
		key = strings.TrimSpace(string(b))
	}
	if _, err := note.NewVerifier(key); err != nil {
		return fmt.Errorf("--key is not a verifier key: %w", err)
	}
	saved, err := os.ReadFile(cpFile)
	if errors.Is(err, fs.ErrNotExist) {
		saved = nil
	} else if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	signed, err := auditlog.Witness(ctx, client, url, key, saved)
	if errors.Is(err, auditlog.ErrInconsistent) {
		return fmt.Errorf("THE HUB'S LOG IS NOT CONSISTENT WITH THE CHECKPOINT SAVED IN %s: %w\n(the saved checkpoint is kept as evidence)", cpFile, err)
	} else if err != nil {
		return fmt.Errorf("witness %s: %w", url, err)
	}
	cur, err := format.OpenCheckpoint(signed, key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(cpFile, signed); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := writeFileAtomic(keyFile, []byte(key+"\n")); err != nil {
		return fmt.Errorf("save key: %w", err)
	}
	if saved == nil {
		fmt.Fprintf(c.Stdout, "ok: first checkpoint saved: %s, tree size %d\n", cur.Origin, cur.TreeSize)
		return nil
	}
	old, _ := format.OpenCheckpoint(saved, key)
	fmt.Fprintf(c.Stdout, "ok: %s grew from %d to %d entries, consistently; new checkpoint saved\n", cur.Origin, old.TreeSize, cur.TreeSize)
	return nil
}

// readVerifierKey derives the verifier key from the signing key file,
// without creating one.
func readVerifierKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no audit signing key at %s", path)
	} else if err != nil {
		return "", err
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("audit signing key %s: %w", path, err)
	}
	_, vkey, err := auditlog.LoadOrCreateSigningKey(path, signer.Name())
	return vkey, err
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
