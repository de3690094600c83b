package deploy

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite "+chartConfigGolden+" from the chart's default values")

// chartConfigGolden is the config file the chart's ConfigMap holds with its default values,
// kept in the repository so that `portcullis validate --config deploy/testdata/chart-config.yaml`
// and the CRD schema tests check exactly what a default install serves.
const chartConfigGolden = "testdata/chart-config.yaml"

func TestChartConfigMatchesGolden(t *testing.T) {
	t.Parallel()
	got := render(t).configMap.Data[configKey]
	if *update {
		if err := os.WriteFile(chartConfigGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(chartConfigGolden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the chart's ConfigMap differs from %s: run go test ./deploy -run TestChartConfigMatchesGolden -update\ngot:\n%s", chartConfigGolden, got)
	}
}

// TestChartConfigValidates runs the service's own validation on the chart's default config.
func TestChartConfigValidates(t *testing.T) {
	t.Parallel()
	bin := portcullisPath(t)
	golden, err := filepath.Abs(chartConfigGolden)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "validate", "--config", golden).CombinedOutput(); err != nil {
		t.Fatalf("portcullis validate --config %s: %v\n%s", chartConfigGolden, err, out)
	}
}
