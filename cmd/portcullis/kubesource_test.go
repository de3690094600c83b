package main

import (
	"strings"
	"testing"
)

func TestKubeFlagsValidate(t *testing.T) {
	tests := []struct {
		name    string
		flags   kubeFlags
		configs []string
		want    string // in the error; "" for none
	}{
		{name: "files by default", flags: kubeFlags{source: sourceFiles}, configs: []string{"a.yaml"}},
		{name: "kubernetes in every namespace", flags: kubeFlags{source: sourceKubernetes}},
		{name: "kubernetes in one namespace with a kubeconfig", flags: kubeFlags{source: sourceKubernetes, namespace: "team", kubeconfig: "kc"}},
		{name: "unknown source", flags: kubeFlags{source: "etcd"}, want: `--config-source: "etcd": want files or kubernetes`},
		{name: "config files with kubernetes", flags: kubeFlags{source: sourceKubernetes}, configs: []string{"a.yaml"}, want: "not with --config-source kubernetes"},
		{name: "namespace without kubernetes", flags: kubeFlags{source: sourceFiles, namespace: "team"}, want: "need --config-source kubernetes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.flags.validate(tt.configs)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}
