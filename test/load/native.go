package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-dev/portcullis/test/load/loadkit"
)

// nativeReport is what the native client prints, as JSON, for the parent to read.
type nativeReport struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	RPS    float64 `json:"rps"`
	P50    int64   `json:"p50"`
	P99    int64   `json:"p99"`
}

// runNative drives addr with c workers over conns connections for d. It sends the request
// encoded once and reads of each answer only its status and kind, so the client's own cost per
// Check is far below ghz's (which decodes every response dynamically) and below a generated
// client's: the less CPU the client needs, the more of what is measured is the server's.
func runNative(addr string, d time.Duration, c, conns, rps int) error {
	msg, err := loadCheck()
	if err != nil {
		return err
	}
	req, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	clients := make([]*grpc.ClientConn, conns)
	for i := range clients {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
		if err != nil {
			return err
		}
		defer cc.Close()
		clients[i] = cc
	}
	ctx := context.Background()
	var ok bool
	for _, cc := range clients { // warm up
		for range 500 {
			_ = cc.Invoke(ctx, checkMethod, &req, &ok) // warm-up: the measured rounds count errors
		}
	}
	// Held to rps, Checks start at even intervals, each worker taking the next start time, and
	// a Check's latency counts from its start time: one held back by a slow answer is late, and
	// its lateness is latency (no coordinated omission).
	var next atomic.Int64
	interval := int64(0)
	if rps > 0 {
		interval = int64(time.Second) / int64(rps)
	}
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, c)
	errs := make([]int, c)
	var wg sync.WaitGroup
	start := time.Now()
	next.Store(start.UnixNano())
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[w%len(clients)]
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if interval > 0 {
					t0 = time.Unix(0, next.Add(interval)-interval)
					if t0.After(deadline) {
						return
					}
					time.Sleep(time.Until(t0))
				}
				var ok bool
				err := cl.Invoke(ctx, checkMethod, &req, &ok)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || !ok {
					errs[w]++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	rep := nativeReport{}
	for w := range c {
		all = append(all, lat[w]...)
		rep.Errors += errs[w]
	}
	slices.Sort(all)
	rep.Count = len(all)
	rep.RPS = float64(len(all)) / elapsed.Seconds()
	if len(all) > 0 {
		rep.P50, rep.P99 = int64(all[len(all)/2]), int64(all[len(all)*99/100])
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// driveNative runs the native client pinned to CPU 1, as ghz is.
func driveNative(name, addr string, pid int, d time.Duration, c, conns, rps int) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cpu0, err := loadkit.ProcessCPU(pid)
	if err != nil {
		return result{}, err
	}
	cmd := command("1", self, "-native-client", addr, "-duration", d.String(), "-c", strconv.Itoa(c), "-connections", strconv.Itoa(conns), "-rps", strconv.Itoa(rps))
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("native client: %v", err)
	}
	cpu1, err := loadkit.ProcessCPU(pid)
	if err != nil {
		return result{}, err
	}
	var rep nativeReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return result{}, fmt.Errorf("native client output %q: %v", out, err)
	}
	r := result{name: name, rps: rep.RPS, count: rep.Count, errors: rep.Errors, p50: time.Duration(rep.P50), p99: time.Duration(rep.P99)}
	if rep.Count > 0 {
		r.cpuUS = float64(cpu1-cpu0) / float64(rep.Count) / float64(time.Microsecond)
		r.clientUS = clientCPU(cmd, rep.Count)
	}
	return r, nil
}

// loadCheck is the CheckRequest every load client sends: checkData.
func loadCheck() (*authv3.CheckRequest, error) {
	req := &authv3.CheckRequest{}
	return req, protojson.Unmarshal([]byte(checkData), req)
}

// dial connects a plaintext Authorization client to addr; closeConn closes its connection.
func dial(addr string) (client authv3.AuthorizationClient, closeConn func() error, err error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	return authv3.NewAuthorizationClient(cc), cc.Close, nil
}

const checkMethod = "/envoy.service.auth.v3.Authorization/Check"

// rawCodec sends a *[]byte as it is and reads an answer into a *bool: whether it is an allow,
// status code 0 with an ok_response. It reads the top-level fields and the status's code, no more.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData()
	} else {
		b = data.Materialize()
	}
	allowed, code := false, uint64(0)
	var statusErr error
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) {
		switch {
		case num == 1 && typ == protowire.BytesType: // status
			st, _ := protowire.ConsumeBytes(v)
			statusErr = eachField(st, func(num protowire.Number, typ protowire.Type, v []byte) {
				if num == 1 && typ == protowire.VarintType {
					code, _ = protowire.ConsumeVarint(v)
				}
			})
		case num == 3: // ok_response
			allowed = true
		}
	})
	if err == nil {
		err = statusErr
	}
	*v.(*bool) = allowed && code == 0
	return err
}

// eachField calls fn with every field of the message b, its value's bytes as on the wire.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		fn(num, typ, b[n:n+m])
		b = b[n+m:]
	}
	return nil
}
