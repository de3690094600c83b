package lambda

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// payloadTooLargeError is the error of a response body over authorizer.MaxResponseBytes.
type payloadTooLargeError struct{}

func (payloadTooLargeError) Error() string { return authorizer.ErrResponseTooLarge.Error() }

// Unwrap lets callers match authorizer.ErrResponseTooLarge.
func (payloadTooLargeError) Unwrap() error { return authorizer.ErrResponseTooLarge }

// RetryableError tells the SDK's retryer not to try again: the same function answers the same
// event with the same oversized body.
func (payloadTooLargeError) RetryableError() bool { return false }

// limitBody stops reading a response body past authorizer.MaxResponseBytes, so a misbehaving
// function or endpoint cannot make the SDK buffer up to Lambda's own 6 MB limit, or more.
type limitBody struct {
	next lambda.HTTPClient
}

// Do sends the request and wraps the response body in a reader that fails past authorizer.MaxResponseBytes.
func (c limitBody) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > authorizer.MaxResponseBytes {
		_ = resp.Body.Close()
		return nil, payloadTooLargeError{}
	}
	resp.Body = &limitedReader{body: resp.Body, left: authorizer.MaxResponseBytes}
	return resp, nil
}

// limitedReader reads at most left bytes and fails with payloadTooLargeError if more follow.
type limitedReader struct {
	body io.ReadCloser
	left int64
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		// One more byte tells a body of exactly authorizer.MaxResponseBytes from a longer one.
		var probe [1]byte
		n, err := r.body.Read(probe[:])
		if n > 0 {
			return 0, payloadTooLargeError{}
		}
		return 0, err
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.body.Read(p)
	r.left -= int64(n)
	return n, err
}

func (r *limitedReader) Close() error { return r.body.Close() }
