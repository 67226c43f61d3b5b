package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
)

// demoOrigin names the demo hub's audit log in its checkpoints.
const demoOrigin = "demo-hub.example.org/audit"

// demoReporter is the reporting account the demo creates.
const demoReporter = "demo"

// DemoCommand serves a hub on SQLite in its own data directory with a demo
// reporter account, so that a newcomer can try the intake at once. Later
// issues add the demo network and the web pages here.
type DemoCommand struct {
	Stdout, Stderr io.Writer
}

// Run prepares the demo store and serves until ctx is cancelled.
func (c *DemoCommand) Run(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("guardian demo", flag.ContinueOnError)
	fset.SetOutput(c.Stderr)
	data := fset.String("data", "./guardian-demo", "directory of the demo hub")
	addr := fset.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return usageError{cmd: "demo", msg: fmt.Sprintf("unexpected argument %q", fset.Arg(0))}
	}
	cfg := StoreConfig{Data: *data}
	if err := ensureDemoNetwork(*data); err != nil {
		return err
	}
	password, err := ensureDemoReporter(ctx, cfg, c.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "Guardian demo hub in %s\n\n  intake API: http://%s/ispws\n  username:   %s\n  password:   %s\n  audit log:  http://%s/audit/checkpoint\n  partner API: http://%s/api/v1 (described at /api/v1/openapi.json; accounts: guardian user add, guardian token add)\n\n  try: curl -u %s:%s http://%s/ispws/status\n\n",
		*data, *addr, demoReporter, password, *addr, *addr, demoReporter, password, *addr)
	serve := &ServeCommand{Stdout: c.Stdout, Stderr: c.Stderr}
	return serve.Run(ctx, []string{"--data", *data, "--addr", *addr, "--database", "", "--migrate", "--audit-origin", demoOrigin})
}

// ensureDemoReporter creates the demo reporter on first run and keeps its
// password in the demo directory (mode 0600), since the store keeps only a
// hash. This is for the demo only: real reporters' passwords are shown once.
func ensureDemoReporter(ctx context.Context, cfg StoreConfig, stderr io.Writer) (string, error) {
	credPath := filepath.Join(cfg.Data, "demo-password")
	store, err := cfg.open(ctx, true, stderrLogger(stderr))
	if err != nil {
		return "", fmt.Errorf("open demo store: %w", err)
	}
	defer store.Close()
	if _, err := store.FindReporterByName(ctx, demoReporter); err == nil {
		b, err := os.ReadFile(credPath)
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("the demo reporter exists but %s is gone; remove %s to start afresh", credPath, cfg.Data)
		} else if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return "", err
	}
	password := crypto.GeneratePassword()
	hash, err := crypto.HashPassword(password)
	if err != nil {
		return "", err
	}
	ev := &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian demo"},
		Category:   guardian.CategoryPermission,
		Action:     "reporter.create",
		ObjectKind: "reporter",
	}
	if err := store.CreateReporter(ctx, &guardian.Reporter{Name: demoReporter, PasswordHash: hash}, ev); err != nil {
		return "", fmt.Errorf("create demo reporter: %w", err)
	}
	if err := os.WriteFile(credPath, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep demo password: %w", err)
	}
	return password, nil
}
