//go:build linux

package lambda_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/test/testenv"
)

// functionName is the only function the emulator serves: its invoke URL is
// /2015-03-31/functions/function/invocations, which is what the SDK calls for that name.
const functionName = "function"

// Fake credentials: the emulator does not check signatures, but the SDK will not sign without.
const (
	testAccessKey = "AKIDPORTCULLISRIE"
	testSecretKey = "portcullis-rie-secret"
	testRegion    = "us-east-1"
)

const (
	emulatorStartTimeout = 15 * time.Second
	emulatorStopTimeout  = 5 * time.Second
)

// emulator is the AWS Lambda Runtime Interface Emulator running the test function.
type emulator struct {
	endpoint string // http://127.0.0.1:PORT
	logs     *lockedBuffer
}

// startEmulator builds the test function and runs it under the emulator on loopback ports. It
// stops the emulator and its runtime when the test ends. Without the emulator binary the test is
// skipped locally and fails under CI.
func startEmulator(t testing.TB) *emulator {
	t.Helper()
	rie := emulatorBinary(t)
	bootstrap := buildFunction(t)

	e := &emulator{logs: &lockedBuffer{}}
	addr := "127.0.0.1:" + freePort(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+freePort(t),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME=" + functionName,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=10",
		"AWS_REGION=" + testRegion,
		"AWS_ACCESS_KEY_ID=" + testAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + testSecretKey,
	}
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	// A group of its own lets the cleanup reach the runtime process the emulator forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", rie, err)
	}
	proc := &process{done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	t.Cleanup(func() { e.stop(t, cmd.Process.Pid, proc) })

	if err := waitListening(addr, proc); err != nil {
		t.Fatalf("aws-lambda-rie did not start: %v\n%s", err, e.logs)
	}
	e.endpoint = "http://" + addr
	return e
}

// stop ends the emulator with SIGTERM, which also ends its runtime, and kills what is left of
// its process group if it does not exit in time.
func (e *emulator) stop(t testing.TB, pid int, proc *process) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-proc.done:
	case <-time.After(emulatorStopTimeout):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-proc.done
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if t.Failed() {
		t.Logf("aws-lambda-rie output:\n%s", e.logs)
	}
}

// emulatorBinary finds aws-lambda-rie at $PORTCULLIS_RIE, in ./bin or on PATH.
func emulatorBinary(t testing.TB) string {
	t.Helper()
	return testenv.Binary(t, "aws-lambda-rie", "PORTCULLIS_RIE", "`make test-tools` installs it into ./bin")
}

// buildFunction compiles ./function into a temporary directory as the runtime's bootstrap.
func buildFunction(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not on PATH: %v", err)
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goTool, "build", "-o", out, "./function")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./function: %v\n%s", err, output)
	}
	return out
}

// freePort asks the kernel for a loopback port that is free now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// waitListening polls addr until it accepts connections, the process exits, or time runs out.
func waitListening(addr string, proc *process) error {
	deadline := time.Now().Add(emulatorStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-proc.done:
			return fmt.Errorf("exited early: %v", proc.err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			return conn.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("not listening after " + emulatorStartTimeout.String())
}

// process is the emulator's exit: done closes once err is set.
type process struct {
	done chan struct{}
	err  error
}

// lockedBuffer collects the emulator's output, written from the process's copy goroutines and
// read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
