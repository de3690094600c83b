package e2e

import (
	"bytes"
	binenc "encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"
)

// h2conn is a raw HTTP/2 client connection, to see what the server's gRPC transport advertises
// and enforces below any gRPC client's own behaviour.
type h2conn struct {
	t  *testing.T
	nc net.Conn
	fr *http2.Framer
}

func dialH2(t *testing.T, addr string) *h2conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nc, nc)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return &h2conn{t: t, nc: nc, fr: fr}
}

// serverSettings reads frames until the server's own SETTINGS frame and returns its values.
func (c *h2conn) serverSettings() map[http2.SettingID]uint32 {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			continue
		}
		got := map[http2.SettingID]uint32{}
		sf.ForeachSetting(func(s http2.Setting) error { got[s.ID] = s.Val; return nil })
		if err := c.fr.WriteSettingsAck(); err != nil {
			c.t.Fatal(err)
		}
		return got
	}
}

// pings sends n PINGs gap apart and reports whether the server answered with GOAWAY, and its code.
func (c *h2conn) pings(n int, gap time.Duration) (goaway bool, code http2.ErrCode) {
	c.t.Helper()
	frames := make(chan http2.Frame, 64)
	go func() {
		defer close(frames)
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	for i := range n {
		if i > 0 {
			time.Sleep(gap)
		}
		if err := c.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server closed the connection
		}
	}
	timeout := time.After(2 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return false, 0
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				return true, g.ErrCode
			}
		case <-timeout:
			return false, 0
		}
	}
}

func TestMaxConcurrentStreamsIsAdvertised(t *testing.T) {
	p := start(t, "--grpc-max-concurrent-streams", "7")
	if got := dialH2(t, p.grpcAddr).serverSettings()[http2.SettingMaxConcurrentStreams]; got != 7 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want 7", got)
	}
}

// Envoy's connection_keepalive pings idle ext_authz connections; pings at the allowed interval
// must keep the connection, pings faster than --grpc-keepalive-min-time must close it with
// ENHANCE_YOUR_CALM, as grpc-go enforces.
func TestKeepalivePingsAreEnforced(t *testing.T) {
	p := start(t, "--grpc-keepalive-min-time", "500ms")
	c := dialH2(t, p.grpcAddr)
	c.serverSettings()
	if goaway, code := c.pings(4, 700*time.Millisecond); goaway {
		t.Fatalf("pings every 700ms with a 500ms minimum: GOAWAY %v", code)
	}
	c = dialH2(t, p.grpcAddr)
	c.serverSettings()
	if goaway, code := c.pings(6, 10*time.Millisecond); !goaway || code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("pings every 10ms: goaway %v code %v, want GOAWAY ENHANCE_YOUR_CALM", goaway, code)
	}
}

func TestServeRejectsBadGRPCSettings(t *testing.T) {
	for _, args := range [][]string{
		{"--grpc-stream-workers", "-1"},
		{"--grpc-keepalive-time", "10ms"},
		{"--grpc-max-connection-age", "-1s"},
		{"--grpc-max-concurrent-streams", "4294967296"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"serve"}, args...)...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("serve %v: exit %d, stderr %q; want 2 naming the flag", args, code, stderr)
		}
	}
}

// checks sends n Checks on the connection one after another, as a gRPC client would, and counts
// the PINGs the server sent (acks of ours not counted) by the time the last answer's trailers came.
func (c *h2conn) checks(n int) (pings int) {
	c.t.Helper()
	msg, err := proto.Marshal(checkRequest("GET", "api.example.com", "/pets/1", map[string]string{"authorization": "Bearer t"}))
	if err != nil {
		c.t.Fatal(err)
	}
	body := make([]byte, 5+len(msg)) // gRPC message prefix: not compressed, then the length
	binenc.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	copy(body[5:], msg)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for i := range n {
		id := uint32(2*i + 1)
		hb.Reset() // the encoder's table carries over from one stream to the next, as the server's does
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "portcullis"},
			{":path", "/envoy.service.auth.v3.Authorization/Check"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			c.t.Fatal(err)
		}
		if err := c.fr.WriteData(id, true, body); err != nil {
			c.t.Fatal(err)
		}
		for done := false; !done; {
			f, err := c.fr.ReadFrame()
			if err != nil {
				c.t.Fatalf("Check %d: %v", i, err)
			}
			switch f := f.(type) {
			case *http2.PingFrame:
				if !f.IsAck() {
					pings++
					if err := c.fr.WritePing(true, f.Data); err != nil {
						c.t.Fatal(err)
					}
				}
			case *http2.SettingsFrame:
				if !f.IsAck() {
					c.fr.WriteSettingsAck()
				}
			case *http2.HeadersFrame:
				done = f.StreamID == id && f.StreamEnded()
			case *http2.RSTStreamFrame:
				c.t.Fatalf("Check %d: stream reset: %v", i, f.ErrCode)
			}
		}
	}
	return pings
}

// With the default fixed window, the server advertises it and sends no bandwidth-estimation
// PINGs while Checks keep coming; with --grpc-window-size 0 it estimates, and pings.
func TestWindowSizeIsFixed(t *testing.T) {
	p := start(t)
	c := dialH2(t, p.grpcAddr)
	if got := c.serverSettings()[http2.SettingInitialWindowSize]; got != 1<<20 {
		t.Fatalf("SETTINGS_INITIAL_WINDOW_SIZE = %d, want %d", got, 1<<20)
	}
	if pings := c.checks(50); pings != 0 {
		t.Fatalf("fixed window: the server sent %d PINGs over 50 Checks, want 0", pings)
	}

	p = start(t, "--grpc-window-size", "0")
	c = dialH2(t, p.grpcAddr)
	c.serverSettings()
	if pings := c.checks(50); pings == 0 {
		t.Fatal("--grpc-window-size 0: the server sent no PING over 50 Checks; is BDP estimation still on?")
	}
}
