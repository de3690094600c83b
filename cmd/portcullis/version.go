package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/portcullis-dev/portcullis/pkg/extauthz/wire"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(_ context.Context, _ []string, io stdio) int {
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	fmt.Fprintf(io.out, "portcullis %s%s %s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(io.out, "codec: %s\n", codecName())
	return 0
}

// codecName says which CheckResponse marshalers this binary has. go-control-plane compiles its
// generated (vtprotobuf) marshalers only under the build tag vtprotobuf, which make build sets;
// a plain go build or go install gets reflection, slower per response (BenchmarkCodecMarshal).
func codecName() string {
	if wire.GeneratedMarshalers() {
		return "vtprotobuf (generated marshalers)"
	}
	return "reflection (built without -tags vtprotobuf: build with make build or go build -tags vtprotobuf)"
}
