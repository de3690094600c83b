package testenv

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RunWithPortcullis is a TestMain for black-box tests: it builds ./cmd/portcullis (with the
// GOFLAGS in force, so the Makefile's build tags) into a temporary folder, sets *binary to it,
// runs the tests and removes the folder. The test package must sit two folders below the
// repository root (test/NAME).
func RunWithPortcullis(m *testing.M, binary *string) {
	dir, err := os.MkdirTemp("", "portcullis-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*binary = filepath.Join(dir, "portcullis")
	build := exec.Command("go", "build", "-o", *binary, "../../cmd/portcullis")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building portcullis:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Serving holds the addresses of the "serving" line portcullis serve logs once it listens.
type Serving struct {
	GRPCAddr, HTTPAddr, ForwardAuthAddr string
}

// ParseServing reads a JSON log line of portcullis serve and reports whether it is the
// "serving" line, with the addresses it names.
func ParseServing(line string) (Serving, bool) {
	var rec struct {
		Msg             string `json:"msg"`
		GRPCAddr        string `json:"grpc_addr"`
		HTTPAddr        string `json:"http_addr"`
		ForwardAuthAddr string `json:"forward_auth_addr"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "serving" {
		return Serving{}, false
	}
	return Serving{rec.GRPCAddr, rec.HTTPAddr, rec.ForwardAuthAddr}, true
}
