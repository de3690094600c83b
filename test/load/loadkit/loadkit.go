// Package loadkit holds what make bench's load programs share: the configuration they serve,
// the HTTP authorizer behind it, and reading a process's CPU time.
package loadkit

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// config is served by every Portcullis under load: a TOKEN authorizer whose answer is cached for
// an hour in front of one route, so that each request after the first is a cached allow.
const config = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 3600
  http: {url: "AUTHZ_URL"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  hosts: [api.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: "/pets/{petId}", methods: [GET]}
`

// allow is the authorizer's one answer: the load token may call the whole stage.
const allow = `{"principalId":"load-user","policyDocument":{"Version":"2012-10-17","Statement":[` +
	`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*"}]},` +
	`"context":{"tenant":"acme","plan":"gold"}}`

// Authorizer is an HTTP Lambda authorizer on loopback that allows the load token.
type Authorizer struct {
	srv  *http.Server
	Addr string // host:port
}

// StartAuthorizer serves an Authorizer until Close.
func StartAuthorizer() (*Authorizer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(allow))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return &Authorizer{srv: srv, Addr: lis.Addr().String()}, nil
}

// Close stops the Authorizer.
func (a *Authorizer) Close() error { return a.srv.Close() }

// WriteConfig writes the load configuration, its authorizer at a, into dir and returns its path.
func WriteConfig(dir string, a *Authorizer) (string, error) {
	p := filepath.Join(dir, "config.yaml")
	text := strings.ReplaceAll(config, "AUTHZ_URL", "http://"+a.Addr+"/")
	return p, os.WriteFile(p, []byte(text), 0o600)
}

// ProcessCPU returns the user+system CPU time the process pid has used, from /proc.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
