package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// demoNetwork is examples/network-demo.yaml (a copy kept in demodata, since
// embed cannot reach outside the package; a test checks they are equal).
//
//go:embed demodata/network-demo.yaml
var demoNetwork []byte

// ensureDemoNetwork writes the demo network as network.yaml in the demo
// directory unless one is there, so that the demo hub can route.
func ensureDemoNetwork(data string) error {
	path := filepath.Join(data, "network.yaml")
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, demoNetwork, 0o644); err != nil {
		return fmt.Errorf("write demo network: %w", err)
	}
	return nil
}
